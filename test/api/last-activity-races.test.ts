import { eq, sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recomputeLastActivity } from '../../db/queries/customers';
import { conversations } from '../../db/schema';
import { lockCustomers } from '../../operations/job-steps';
import { indexUid } from '../../search/indexes';
import { eventually, uniqueName, type TestApp } from '../helpers';
import { startJobTestApp, type Job } from '../job-helpers';

/**
 * A customer's last activity is that of its newest item, however creates on
 * it interleave with each other and with the jobs that move its items away
 * (which work it out again). Creates share the customer's row lock; these
 * tests race them against each other and against splits, moves and merges.
 */
let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
});
afterAll(() => t.close());

/** Item times after the customers' creation (the API accepts up to 5 minutes ahead). */
let base: number;
beforeAll(() => {
  base = Date.now() + 10_000;
});
const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();

const customer = () => t.create<{ id: string }>('/v1/customers', { name: uniqueName('Racer') });

const conversationAt = (customerId: string, seconds: number) =>
  t.call('POST', `/v1/customers/${customerId}/conversations`, {
    body: {
      channel: 'chat',
      createdAt: at(seconds),
      messages: [{ direction: 'inbound', body: 'Hi' }],
    },
  });

const kobjectOf = (customerId: string, title = 'Racing order') =>
  t.call('POST', `/v1/customers/${customerId}/kobjects`, { body: { klass, title } });

function expectAll(responses: LightMyRequestResponse[], ...statuses: number[]) {
  const failed = responses.filter((r) => !statuses.includes(r.statusCode));
  expect(
    failed.map((r) => `${r.statusCode} ${r.body}`),
    `${failed.length} of ${responses.length} failed`,
  ).toEqual([]);
}

/** The customer's last activity and that of its newest item, as Postgres has them. */
async function lastActivity(customerId: string) {
  const result = await t.db.execute<{ customer: string; newest: string }>(sql`
    select (select last_activity_at::text from customers where id = ${customerId}) as customer,
           (select max(t)::text from (
              select last_activity_at as t from conversations where customer_id = ${customerId}
              union all
              select last_activity_at from kobjects where customer_id = ${customerId}) items) as newest`);
  return result.rows[0]!;
}

async function expectAtNewestItem(customerId: string) {
  const { customer, newest } = await lastActivity(customerId);
  expect(newest, `customer ${customerId} has items`).not.toBeNull();
  expect(customer, `customer ${customerId}: last activity vs newest item`).toBe(newest);
}

/**
 * Fires waves of creates on `customerIds` until `job` settles, so creates are
 * in flight while the job's transaction locks and recomputes; returns every response.
 */
async function createWhile(
  job: Promise<LightMyRequestResponse>,
  wave: (round: number) => Promise<LightMyRequestResponse>[],
): Promise<{ settled: LightMyRequestResponse; creates: LightMyRequestResponse[] }> {
  let done = false;
  const settled = job.finally(() => {
    done = true;
  });
  const creates: LightMyRequestResponse[] = [];
  for (let round = 0; round < 40 && !done; round++)
    creates.push(...(await Promise.all(wave(round))));
  return { settled: await settled, creates };
}

/** Spreads a wave's times over 1–40 s, earlier and later ones mixed. */
const spread = (round: number, i: number) => ((round * 7 + i * 13) % 40) + 1;

describe('parallel creates on one customer', () => {
  it('all succeed, earlier and later ones mixed, and the customer ends at the latest, in Postgres and in search', async () => {
    const { id } = await customer();
    // Increasing times interleaved with decreasing ones; the latest is sent second.
    const seconds = Array.from({ length: 40 }, (_, i) => (i % 2 ? 100 - i : i));
    const responses = await Promise.all([
      ...seconds.map((s) => conversationAt(id, s)),
      ...Array.from({ length: 8 }, () => kobjectOf(id)),
    ]);
    expectAll(responses, 201);
    const latest = at(Math.max(...seconds));
    const shown = (await t.call('GET', `/v1/customers/${id}`)).json<{ lastActivityAt: string }>();
    expect(shown.lastActivityAt).toBe(latest);
    await expectAtNewestItem(id);

    const index = t.app.meili.index(indexUid(t.config.meili.indexPrefix, 'customers'));
    await eventually(
      async () => {
        const document = await index.getDocument(id).catch(() => undefined);
        return document?.lastActivityAt === Date.parse(latest) ? true : undefined;
      },
      10_000,
      `the search document of ${id} to show last activity ${latest}`,
    );
  });
});

describe('creates racing a job on the same customers', () => {
  it('a split: every create succeeds and both customers end at their newest item', async () => {
    const [source, target] = [await customer(), await customer()];
    const moving = await Promise.all([60, 70].map((s) => conversationAt(source.id, s)));
    expectAll(moving, 201);
    expectAll([await conversationAt(source.id, 5), await conversationAt(target.id, 3)], 201);
    const started = await t.call('POST', '/v1/splits', {
      body: {
        sourceCustomerId: source.id,
        targetCustomerId: target.id,
        conversationIds: moving.map((r) => r.json<{ id: string }>().id),
      },
    });
    expect(started.statusCode, started.body).toBe(201);
    const { job } = started.json<{ job: Job }>();

    const { settled, creates } = await createWhile(
      t.call('POST', `/v1/splits/${job.id}/confirm`),
      (round) =>
        [source.id, target.id, source.id, target.id].map((id, i) =>
          conversationAt(id, spread(round, i)),
        ),
    );
    expect(settled.statusCode, settled.body).toBe(200);
    expect(settled.json<{ job: Job }>().job.status).toBe('completed');
    expectAll(creates, 201);
    await expectAtNewestItem(source.id);
    await expectAtNewestItem(target.id);
  });

  it('a KObject move: every create succeeds and both customers end at their newest item', async () => {
    const [source, target] = [await customer(), await customer()];
    expectAll([await kobjectOf(source.id), await kobjectOf(target.id)], 201);
    // The newest item of the source moves away, so the move takes its last activity back.
    const moving = await kobjectOf(source.id, 'Moving order');
    expect(moving.statusCode, moving.body).toBe(201);
    const started = await t.call('POST', '/v1/kobject-moves', {
      body: { kobjectIds: [moving.json<{ id: string }>().id], targetCustomerId: target.id },
    });
    expect(started.statusCode, started.body).toBe(201);
    const { job } = started.json<{ job: Job }>();

    const { settled, creates } = await createWhile(
      t.call('POST', `/v1/kobject-moves/${job.id}/confirm`),
      () => [source.id, target.id, source.id, target.id].map((id) => kobjectOf(id)),
    );
    expect(settled.statusCode, settled.body).toBe(200);
    expect(settled.json<{ job: Job }>().job.status).toBe('completed');
    expectAll(creates, 201);
    await expectAtNewestItem(source.id);
    await expectAtNewestItem(target.id);
  });

  it('a merge: creates succeed or find the source merged away, the merge completes or finds its preview stale, never a 5xx', async () => {
    const [source, target] = [await customer(), await customer()];
    expectAll([await conversationAt(source.id, 50), await conversationAt(target.id, 2)], 201);
    const started = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: source.id, targetCustomerId: target.id },
    });
    expect(started.statusCode, started.body).toBe(201);
    const { job } = started.json<{ job: Job }>();

    const { settled, creates } = await createWhile(
      t.call('POST', `/v1/merges/${job.id}/confirm`),
      (round) =>
        [source.id, target.id, source.id, target.id].map((id, i) =>
          i % 2 ? conversationAt(id, spread(round, i)) : kobjectOf(id),
        ),
    );
    // A create that lands before the merge locks changes a timeline: the confirm is refused.
    if (settled.statusCode === 200) {
      expect(settled.json<{ job: Job }>().job.status).toBe('completed');
    } else {
      expect(settled.statusCode, settled.body).toBe(409);
      expect(settled.json<{ code: string }>().code).toBe('PREVIEW_STALE');
      await expectAtNewestItem(source.id);
    }
    expectAll(creates, 201, 404);
    await expectAtNewestItem(target.id);
  });

  it('a create that waited for a split’s lock still moves the last activity the split took back', async () => {
    const [source, target] = [await customer(), await customer()];
    const [, moving] = await Promise.all([
      conversationAt(source.id, 30),
      conversationAt(source.id, 50),
    ]);
    const movingId = moving.json<{ id: string }>().id;
    let create: Promise<LightMyRequestResponse> | undefined;
    // A split's transaction step by step, held open while a create on the source waits for it.
    await t.db.transaction(async (tx) => {
      await lockCustomers(tx, [source.id, target.id]);
      await tx
        .update(conversations)
        .set({ customerId: target.id })
        .where(eq(conversations.id, movingId));
      await recomputeLastActivity(tx, [source.id, target.id]);
      const xid = (await tx.execute<{ xid: string }>(sql`select txid_current()::text as xid`))
        .rows[0]!.xid;
      // Between the two conversations left and moved: the source's newest item once it lands.
      create = conversationAt(source.id, 40);
      await eventually(
        async () => {
          const waiting = await t.db.execute<{ n: number }>(sql`
            select count(*)::int as n from pg_locks
            where locktype = 'transactionid' and transactionid::text = ${xid} and not granted`);
          return waiting.rows[0]!.n > 0 ? true : undefined;
        },
        10_000,
        'the create to wait for the split',
      );
    });
    const created = await create!;
    expect(created.statusCode, created.body).toBe(201);
    expect((await lastActivity(source.id)).customer).toBe((await lastActivity(source.id)).newest);
    await expectAtNewestItem(source.id);
    await expectAtNewestItem(target.id);
  });
});
