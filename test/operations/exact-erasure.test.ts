/**
 * What an erasure aims at: a saved search selects exactly (no typo, no
 * prefix, checked against Postgres rather than the index), an erasure takes
 * only the saved searches that identify the erased person, and a DELETE that
 * lost the race to another one still answers as done.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, customers, jobItems, jobs, notifications, savedSearches } from '../../db/schema';
import { identifierKinds } from '../../domain/identifiers';
import { eventually, problemOf, uniqueWord, userWithKey, type TestApp } from '../helpers';
import {
  customerWithItems,
  jobWhenFinished,
  startBulkErasure,
  startJobTestApp,
  type Job,
} from '../job-helpers';

let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
});
afterAll(() => t.close());

/** Erases every match of a new saved search and returns the finished job and the IDs it selected. */
async function eraseSavedSearch(search: {
  index: 'customers' | 'conversations' | 'kobjects';
  q?: string;
  filters?: Record<string, string>;
}): Promise<{ job: Job; selected: string[] }> {
  const saved = await t.create('/v1/saved-searches', { name: 'To erase', ...search });
  const started = await startBulkErasure(t, { entity: search.index, savedSearchId: saved.id });
  const job = await jobWhenFinished(t, started.job.id, 60_000);
  const items = await t.db
    .select({ objectId: jobItems.objectId })
    .from(jobItems)
    .where(eq(jobItems.jobId, job.id))
    .orderBy(asc(jobItems.position));
  return { job, selected: items.map((item) => item.objectId) };
}

const customerIdsIn = async (ids: string[]) =>
  (await t.db.select({ id: customers.id }).from(customers).where(inArray(customers.id, ids))).map(
    (row) => row.id,
  );

async function indexedHits(q: string): Promise<number> {
  const response = await t.call('GET', `/v1/search/customers?q=${encodeURIComponent(q)}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ total: number }>().total;
}

describe('a saved search selects for erasure exactly', () => {
  it('takes the whole word, in Postgres: not a typo, not a longer word, and also what the index has not seen', async () => {
    const word = uniqueWord('zq');
    const typo = `${word.slice(0, -1)}${word.endsWith('b') ? 'c' : 'b'}`;
    const exact = await t.create('/v1/customers', { name: `Ann ${word}` });
    const upper = await t.create('/v1/customers', { name: `Bob ${word.toUpperCase()}` });
    const oneTypo = await t.create('/v1/customers', { name: `Ann ${typo}` });
    const longer = await t.create('/v1/customers', { name: `Ann ${word}son` });
    // The index has all three near matches: its search would take them.
    await eventually(async () => ((await indexedHits(word)) >= 4 ? true : undefined), 20_000);
    // Written behind the index's back: Postgres has it, the index never will.
    const [unindexed] = await t.db
      .insert(customers)
      .values({ name: `Bea ${word}` })
      .returning({ id: customers.id });

    const { job, selected } = await eraseSavedSearch({ index: 'customers', q: word });

    expect([...selected].sort()).toEqual([exact.id, upper.id, unindexed!.id].sort());
    expect(selected).toEqual([...selected].sort());
    expect(job).toMatchObject({ status: 'completed', progress: { done: 3, failed: 0 } });
    const [item] = await t.db
      .select({ counts: jobItems.counts })
      .from(jobItems)
      .where(and(eq(jobItems.jobId, job.id), eq(jobItems.objectId, exact.id)));
    expect(item?.counts).toMatchObject({
      customers: 1,
      identifierKindsChecked: [...identifierKinds],
    });
    expect(await customerIdsIn([exact.id, upper.id, unindexed!.id])).toEqual([]);
    expect((await customerIdsIn([oneTypo.id, longer.id])).sort()).toEqual(
      [oneTypo.id, longer.id].sort(),
    );
  }, 90_000);

  it('compares without accents or case: "zoe" takes Zoë, not Zoey', async () => {
    const word = uniqueWord('acc');
    const zoe = await t.create('/v1/customers', { name: `Zoë ${word.toUpperCase()}` });
    const zoey = await t.create('/v1/customers', { name: `Zoey ${word}` });
    await eventually(async () => ((await indexedHits(word)) >= 2 ? true : undefined), 20_000);

    // "zoe" last: the index would complete it to "zoey".
    const { selected } = await eraseSavedSearch({ index: 'customers', q: `${word} zoe` });

    expect(selected).toEqual([zoe.id]);
    expect(await customerIdsIn([zoe.id, zoey.id])).toEqual([zoey.id]);
  }, 90_000);

  it('matches an external ID whole: crm-1001 is not crm-1002, crm-1003 or crm-1001-b', async () => {
    const crm = uniqueWord('crm');
    const ids: Record<string, string> = {};
    for (const suffix of ['1001', '1002', '1003', '1001-b']) {
      ids[suffix] = (
        await t.create('/v1/customers', { name: 'Ann Lee', externalId: `${crm}-${suffix}` })
      ).id;
    }
    await eventually(async () => ((await indexedHits(crm)) >= 4 ? true : undefined), 20_000);

    const { selected } = await eraseSavedSearch({ index: 'customers', q: `${crm}-1001` });

    expect(selected).toEqual([ids['1001']]);
    expect((await customerIdsIn(Object.values(ids))).sort()).toEqual(
      [ids['1002'], ids['1003'], ids['1001-b']].sort(),
    );
  }, 90_000);

  it('takes a phone number in any spelling: national ones read in the default region', async () => {
    const london = () => `7${randomInt(100, 1000)} ${randomInt(1000, 10000)}`;
    const [a, b, c] = [london(), london(), london()];
    const typedInternationally = await t.create('/v1/customers', {
      name: 'Ann Lee',
      phones: [{ number: `+44 20 ${a}` }],
    });
    const typedNationally = await t.create('/v1/customers', {
      name: 'Ann Lee',
      phones: [{ number: `020 ${b}` }],
    });
    const bystander = await t.create('/v1/customers', {
      name: 'Ann Lee',
      phones: [{ number: `+44 20 ${c}` }],
    });

    const national = await eraseSavedSearch({ index: 'customers', q: `020 ${a}` });
    expect(national.selected).toEqual([typedInternationally.id]);
    const international = await eraseSavedSearch({ index: 'customers', q: `+44 (20) ${b}` });
    expect(international.selected).toEqual([typedNationally.id]);
    expect(
      await customerIdsIn([typedInternationally.id, typedNationally.id, bystander.id]),
    ).toEqual([bystander.id]);
  }, 90_000);

  it('selects by filters alone when the query is empty, and refuses a search with neither', async () => {
    const word = uniqueWord('flt');
    const owner = await customerWithItems(t, { name: `Ann ${word}`, klass, kobjects: 2 });
    const other = await customerWithItems(t, { name: `Bob ${word}`, klass, kobjects: 1 });

    const { selected } = await eraseSavedSearch({
      index: 'kobjects',
      filters: { customer: owner.id },
    });
    expect([...selected].sort()).toEqual([...owner.kobjectIds].sort());
    const left = await t.db
      .select({ customerId: customers.id })
      .from(customers)
      .where(inArray(customers.id, [owner.id, other.id]));
    expect(left).toHaveLength(2);

    const everything = await t.create('/v1/saved-searches', { name: 'All', index: 'customers' });
    const refused = await t.call('POST', '/v1/bulk-deletes', {
      body: { entity: 'customers', savedSearchId: everything.id },
    });
    expect(problemOf(refused)).toMatchObject({ status: 422, code: 'SELECTION_TOO_BROAD' });
    expect(await customerIdsIn([owner.id, other.id])).toHaveLength(2);
  }, 90_000);
});

describe('an erasure touches only the saved searches that identify the person', () => {
  it("removes another user's search naming Zed's email, phone or full name, audited and told; leaves the bystanders", async () => {
    const tag = uniqueWord('p');
    const name = `Zed Person ${tag}`;
    const email = `zed.${tag}@example.com`;
    const local = `7${String(randomInt(0, 1000)).padStart(3, '0')} ${randomInt(1000, 10000)}`;
    const phone = `+44 20 ${local}`;
    const zed = await t.create('/v1/customers', {
      name,
      emails: [{ address: email }],
      phones: [{ number: phone }],
    });
    const other = await userWithKey(t.db, { permissions: ['searches.read', 'customers.read'] });
    const save = async (body: Record<string, unknown>) => {
      const response = await t.call('POST', '/v1/saved-searches', {
        key: other.key,
        body: { index: 'customers', ...body },
      });
      expect(response.statusCode, response.body).toBe(201);
      return response.json<{ id: string }>().id;
    };
    const bystanders = [
      await save({ name: 'People', q: 'Person' }),
      await save({ name: 'Example customers', q: 'example.com' }),
      await save({ name: 'Gmail', q: 'gmail.com' }),
      await save({ name: 'First name', q: 'Zed' }),
      await save({ name: 'Part of the name', q: 'Zed Person' }),
      await save({ name: 'Someone else', q: `ann.zed.${tag}@example.com` }),
    ];
    const identifying = [
      await save({ name: 'Her email', q: email.toUpperCase() }),
      await save({ name: 'Her phone', q: phone.replace('+', '00').replaceAll(' ', '-') }),
      // Written nationally, read in the default region (GB in tests).
      await save({ name: 'Her phone at home', q: `020 ${local}` }),
      await save({ name: `Call 020 ${local} back`, q: '' }),
      await save({ name: `Follow up with ${name}`, q: '' }),
    ];

    const response = await t.call('DELETE', `/v1/customers/${zed.id}`, {
      body: { confirm: 'DELETE' },
    });
    expect(response.statusCode, response.body).toBe(200);
    const job = response.json<{ job: Job }>().job;
    expect(job.result?.counts.savedSearches).toBe(identifying.length);

    const left = await t.db
      .select({ id: savedSearches.id })
      .from(savedSearches)
      .where(inArray(savedSearches.id, [...bystanders, ...identifying]));
    expect(left.map((row) => row.id).sort()).toEqual([...bystanders].sort());

    const audited = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'saved_search.deleted'), eq(auditLog.jobId, job.id)));
    expect(audited.map((entry) => entry.objectId).sort()).toEqual([...identifying].sort());
    for (const entry of audited) expect(entry.objectType).toBe('saved_search');

    const notices = await t.db
      .select()
      .from(notifications)
      .where(eq(notifications.userId, other.id));
    expect(notices.map((notice) => notice.kind)).toEqual(
      identifying.map(() => 'saved_search_removed'),
    );
    for (const id of identifying) {
      const notice = notices.find((n) => n.body.includes(id));
      expect(notice?.body).toContain(job.id);
    }
    const shown = JSON.stringify(notices) + JSON.stringify(audited);
    for (const personal of [tag, email, phone, local, 'Zed']) expect(shown).not.toContain(personal);

    const [row] = await t.db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(row?.result).toMatchObject({ identifierKindsChecked: [...identifierKinds] });
  });
});

it("records in a GDPR request's completion which kinds of identifier were looked for", async () => {
  const zed = await t.create('/v1/customers', { name: `Zed ${uniqueWord('gdpr')}` });
  const request = await t.create('/v1/gdpr-requests', { customerId: zed.id });
  const erase = await t.call('POST', `/v1/gdpr-requests/${request.id}/erase`);
  expect([200, 202], erase.body).toContain(erase.statusCode);
  const done = await eventually(
    async () => {
      const row = (await t.call('GET', `/v1/gdpr-requests/${request.id}`)).json<{
        status: string;
        completionRecord: { identifierKindsChecked?: string[] } | null;
      }>();
      return row.status === 'completed' ? row : undefined;
    },
    30_000,
    `request ${request.id} to complete`,
  );
  expect(done.completionRecord?.identifierKindsChecked).toEqual([...identifierKinds]);
}, 60_000);

describe('a single delete that another job beat', () => {
  it('answers 200 to ten identical DELETEs sent at once, with one audit entry; an unknown ID is still 404', async () => {
    const customer = await t.create('/v1/customers', { name: `Ann ${uniqueWord('race')}` });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.call('DELETE', `/v1/customers/${customer.id}`, { body: { confirm: 'DELETE' } }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 10 }, () => 200));
    const finished = responses.map((r) => r.json<{ job: Job }>().job);
    expect(finished.map((job) => job.status)).toEqual(finished.map(() => 'completed'));
    const entries = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.objectId, customer.id), eq(auditLog.action, 'customer.deleted')));
    expect(entries).toHaveLength(1);
    const [winner] = finished.filter((job) => job.id === entries[0]!.jobId);
    expect(winner?.result?.counts).toMatchObject({ customers: 1 });
    const losers = finished.filter((job) => job.id !== entries[0]!.jobId);
    expect(losers).toHaveLength(9);
    for (const job of losers) expect(job.result?.counts).toEqual({ alreadyDeleted: 1 });
    expect(await customerIdsIn([customer.id])).toEqual([]);

    const unknown = await t.call('DELETE', `/v1/customers/${randomUUID()}`, {
      body: { confirm: 'DELETE' },
    });
    expect(problemOf(unknown)).toMatchObject({ status: 404, code: 'CUSTOMER_NOT_FOUND' });
  });
});
