import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, jobs, mergeJournals } from '../../db/schema';
import {
  defineAttributes,
  eventually,
  problemOf,
  tablesHolding,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';
import { customerWithItems, startJobTestApp, type Job } from '../job-helpers';

let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
  await defineAttributes(t, 'customer', { tier: 'text', region: 'text' });
});
afterAll(() => t.close());

interface UndoPreview {
  mergeJobId: string;
  customer: { id: string; name: string };
  conversations: { id: string }[];
  kobjects: { id: string }[];
  takenBack: { emails: string[]; phones: string[]; fields: string[] };
  notRestorable: {
    kind: string;
    id?: string;
    field?: string;
    reason: string;
    customerId?: string;
  }[];
  counts: Record<string, number>;
}

/** Previews and confirms a merge; returns the completed merge job. */
async function merge(sourceCustomerId: string, targetCustomerId: string, extra = {}) {
  const previewed = await t.call('POST', '/v1/merges', {
    body: { sourceCustomerId, targetCustomerId, ...extra },
  });
  expect(previewed.statusCode, previewed.body).toBe(201);
  const { job } = previewed.json<{ job: Job }>();
  const confirmed = await t.call('POST', `/v1/merges/${job.id}/confirm`);
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  return confirmed.json<{ job: Job }>().job;
}

async function previewUndo(mergeJobId: string, body?: Record<string, unknown>) {
  const response = await t.call('POST', `/v1/merges/${mergeJobId}/undo`, {
    ...(body ? { body } : {}),
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ job: Job<UndoPreview> }>().job;
}

async function undo(mergeJobId: string, body?: Record<string, unknown>) {
  const job = await previewUndo(mergeJobId, body);
  const confirmed = await t.call('POST', `/v1/unmerges/${job.id}/confirm`);
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  return { preview: job.preview, job: confirmed.json<{ job: Job }>().job };
}

const undoStatus = async (mergeJobId: string) =>
  (await t.call('GET', `/v1/merges/${mergeJobId}`)).json<{
    undo: { undoable: boolean; code: string | null; reason: string | null };
  }>().undo;

/** Every row of these customers and of what belongs to them, as Postgres spells it. */
async function snapshot(customerIds: string[]) {
  const ids = sql.join(
    customerIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const rows = async (query: ReturnType<typeof sql>) =>
    (await t.db.execute<{ row: Record<string, unknown> }>(query)).rows.map((r) => r.row);
  return {
    customers: await rows(
      sql`select to_jsonb(c) as row from customers c where id in (${ids}) order by id`,
    ),
    conversations: await rows(
      sql`select to_jsonb(c) as row from conversations c where customer_id in (${ids}) order by id`,
    ),
    messages: await rows(sql`select to_jsonb(m) as row from messages m
      where conversation_id in (select id from conversations where customer_id in (${ids})) order by id`),
    kobjects: await rows(
      sql`select to_jsonb(k) as row from kobjects k where customer_id in (${ids}) order by id`,
    ),
    events: await rows(
      sql`select to_jsonb(e) as row from engagement_events e where customer_id in (${ids}) order by id`,
    ),
    redirects: await rows(sql`select to_jsonb(r) - 'created_at' as row from merge_redirects r
      where target_customer_id in (${ids}) or source_customer_id in (${ids}) order by source_customer_id`),
  };
}

/** A target's `updated_at` says when it was last written: the undo is a write. */
const withoutUpdatedAt = (snap: Awaited<ReturnType<typeof snapshot>>, id: string) => ({
  ...snap,
  customers: snap.customers.map((c) => (c.id === id ? { ...c, updated_at: 'x' } : c)),
});

async function addEvents(customerId: string, externalIds: (string | undefined)[]) {
  const response = await t.call('POST', `/v1/customers/${customerId}/events`, {
    body: {
      events: externalIds.map((externalId, i) => ({
        type: 'page_view',
        occurredAt: new Date(Date.now() - (i + 1) * 60_000).toISOString(),
        properties: { page: `/p${i}` },
        ...(externalId ? { externalId } : {}),
      })),
    },
  });
  expect(response.statusCode, response.body).toBe(201);
}

const journalOf = async (mergeJobId: string) =>
  (await t.db.select().from(mergeJournals).where(eq(mergeJournals.jobId, mergeJobId)))[0];

describe('undoing a merge', () => {
  it('restores every row of both customers exactly, the source under its own ID', async () => {
    const word = uniqueWord('unmerge');
    // An older customer merged into the source first: its redirect must lead to the source again.
    const older = await customerWithItems(t, { name: `Older ${word}`, conversations: 1 });
    const source = await customerWithItems(t, {
      name: `Ada ${word}`,
      klass,
      conversations: 2,
      kobjects: 1,
      extra: {
        emails: [{ address: `ada-${word}@mail.example`, preferred: true }],
        phones: [{ number: '+44 20 7946 0001', preferred: true }],
        websites: [`https://${word}.example`],
        externalId: `ext-${word}`,
        customAttributes: { tier: 'gold', region: 'north' },
      },
    });
    await merge(older.id, source.id);
    const target = await customerWithItems(t, {
      name: `Grace ${word}`,
      klass,
      conversations: 1,
      kobjects: 1,
      extra: {
        emails: [{ address: `grace-${word}@mail.example`, preferred: true }],
        customAttributes: { region: 'south' },
      },
    });
    // Both hold `shared`: the merge clears the source's copy of that key; the undo gives it back.
    await addEvents(source.id, ['shared', `own-${word}`, undefined]);
    await addEvents(target.id, ['shared']);

    const before = await snapshot([source.id, target.id]);
    const mergeJob = await merge(source.id, target.id);
    expect(await journalOf(mergeJob.id)).toBeDefined();
    expect(await undoStatus(mergeJob.id)).toMatchObject({ undoable: true, code: null });
    expect((await t.call('GET', `/v1/customers/${source.id}`)).statusCode).not.toBe(200);

    const { preview, job } = await undo(mergeJob.id);
    expect(preview).toMatchObject({
      mergeJobId: mergeJob.id,
      customer: { id: source.id, name: `Ada ${word}` },
      takenBack: { emails: [`ada-${word}@mail.example`], phones: ['+44 20 7946 0001'] },
      notRestorable: [],
      counts: { conversations: 3, kobjects: 1, events: 3, notRestorable: 0 },
    });
    expect([...preview.takenBack.fields].sort()).toEqual([
      'customAttributes.tier',
      'externalId',
      'websites',
    ]);
    expect(job).toMatchObject({ type: 'unmerge', status: 'completed' });
    expect(job.workflowId).toBe(`unmerge-${job.id}`);

    const after = await snapshot([source.id, target.id]);
    expect(withoutUpdatedAt(after, target.id)).toEqual(withoutUpdatedAt(before, target.id));
    expect(after.redirects.map((r) => [r.source_customer_id, r.target_customer_id])).toEqual([
      [older.id, source.id],
    ]);
    expect(await journalOf(mergeJob.id)).toBeUndefined();

    const restored = await t.call('GET', `/v1/customers/${source.id}`);
    expect(restored.statusCode, restored.body).toBe(200);
    expect(restored.json<{ id: string }>().id).toBe(source.id);
    expect((await t.call('GET', `/v1/customers/${older.id}`)).statusCode).not.toBe(200);
    expect(await undoStatus(mergeJob.id)).toMatchObject({
      undoable: false,
      code: 'MERGE_ALREADY_UNDONE',
    });
    const again = await t.call('POST', `/v1/merges/${mergeJob.id}/undo`);
    expect(problemOf(again)).toMatchObject({ status: 409, code: 'MERGE_ALREADY_UNDONE' });

    const entries = await t.db.select().from(auditLog).where(eq(auditLog.jobId, job.id));
    expect(entries.map((e) => `${e.action} ${e.objectId}`).sort()).toEqual(
      [`customer.unmerged ${target.id}`, `customer.restored ${source.id}`].sort(),
    );
    expect(JSON.stringify(entries)).not.toContain(word);
    // Both are found by their own names again.
    await eventually(async () => {
      const found = await t.call('GET', `/v1/search/customers?q=${encodeURIComponent(word)}`);
      const ids = found.json<{ hits: { id: string }[] }>().hits.map((i) => i.id);
      return ids.includes(source.id) && ids.includes(target.id) ? true : undefined;
    });
  });

  it('lists a conversation deleted and a KObject moved to a third customer since, and restores the rest', async () => {
    const word = uniqueWord('partial');
    const source = await customerWithItems(t, {
      name: `Ada ${word}`,
      klass,
      conversations: 2,
      kobjects: 2,
    });
    const target = await customerWithItems(t, { name: `Grace ${word}`, conversations: 1 });
    const third = await customerWithItems(t, { name: `Third ${word}` });
    const mergeJob = await merge(source.id, target.id);

    const [gone, kept] = source.conversationIds;
    const [moved, stays] = source.kobjectIds;
    const deleted = await t.call('DELETE', `/v1/conversations/${gone}`, {
      body: { confirm: 'DELETE' },
    });
    expect(deleted.statusCode, deleted.body).toBe(200);
    const move = await t.call('POST', '/v1/kobject-moves', {
      body: { kobjectIds: [moved], targetCustomerId: third.id },
    });
    expect(move.statusCode, move.body).toBe(201);
    const moveJob = move.json<{ job: Job }>().job;
    expect((await t.call('POST', `/v1/kobject-moves/${moveJob.id}/confirm`)).statusCode).toBe(200);

    const { preview } = await undo(mergeJob.id);
    expect(preview.notRestorable).toEqual(
      expect.arrayContaining([
        { kind: 'conversation', id: gone, reason: 'DELETED_SINCE', customerId: null },
        { kind: 'kobject', id: moved, reason: 'MOVED_SINCE', customerId: third.id },
      ]),
    );
    expect(preview.notRestorable).toHaveLength(2);
    expect(preview.conversations.map((c) => c.id)).toEqual([kept]);
    expect(preview.kobjects.map((k) => k.id)).toEqual([stays]);

    const owners = await t.db.execute<{ id: string; customer_id: string }>(sql`
      select id, customer_id from conversations where id in (${kept}, ${target.conversationIds[0]})
      union all select id, customer_id from kobjects where id in (${moved}, ${stays})`);
    expect(Object.fromEntries(owners.rows.map((r) => [r.id, r.customer_id]))).toEqual({
      [kept!]: source.id,
      [target.conversationIds[0]!]: target.id,
      [moved!]: third.id,
      [stays!]: source.id,
    });
  });

  it('refuses a preview gone stale: the target changed after it', async () => {
    const word = uniqueWord('stale');
    const source = await customerWithItems(t, { name: `Ada ${word}`, conversations: 1 });
    const target = await customerWithItems(t, { name: `Grace ${word}` });
    const mergeJob = await merge(source.id, target.id);
    const job = await previewUndo(mergeJob.id);
    const edited = await t.call('PATCH', `/v1/customers/${target.id}`, {
      body: { name: `Grace B ${word}` },
    });
    expect(edited.statusCode, edited.body).toBe(200);
    const confirmed = await t.call('POST', `/v1/unmerges/${job.id}/confirm`);
    expect(problemOf(confirmed)).toMatchObject({ status: 409, code: 'PREVIEW_STALE' });
    expect((await t.call('GET', `/v1/customers/${source.id}`)).statusCode).not.toBe(200);
    expect(await journalOf(mergeJob.id)).toBeDefined();
  });

  it('undo racing a new merge of the target: one wins, the other is refused with 409', async () => {
    const word = uniqueWord('race');
    const source = await customerWithItems(t, { name: `Ada ${word}`, conversations: 2 });
    const target = await customerWithItems(t, { name: `Grace ${word}`, conversations: 1 });
    const third = await customerWithItems(t, { name: `Third ${word}`, conversations: 1 });
    const mergeJob = await merge(source.id, target.id);

    const undoJob = await previewUndo(mergeJob.id);
    const next = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: target.id, targetCustomerId: third.id },
    });
    expect(next.statusCode, next.body).toBe(201);
    const nextJob = next.json<{ job: Job }>().job;

    const [undone, merged] = await Promise.all([
      t.call('POST', `/v1/unmerges/${undoJob.id}/confirm`),
      t.call('POST', `/v1/merges/${nextJob.id}/confirm`),
    ]);
    expect([undone.statusCode, merged.statusCode].sort()).toEqual([200, 409]);
    const loser = undone.statusCode === 409 ? undone : merged;
    expect(['PREVIEW_STALE', 'MERGED_AGAIN']).toContain(problemOf(loser).code);

    const alive = async (id: string) =>
      (await t.db.execute(sql`select 1 from customers where id = ${id}`)).rows.length === 1;
    const items = await t.db.execute<{ customer_id: string; n: number }>(sql`
      select customer_id, count(*)::int as n from conversations
      where customer_id in (${source.id}, ${target.id}, ${third.id}) group by 1`);
    const counts = Object.fromEntries(items.rows.map((r) => [r.customer_id, r.n]));
    if (undone.statusCode === 200) {
      expect([await alive(source.id), await alive(target.id), await alive(third.id)]).toEqual([
        true,
        true,
        true,
      ]);
      expect(counts).toEqual({ [source.id]: 2, [target.id]: 1, [third.id]: 1 });
    } else {
      expect([await alive(source.id), await alive(target.id)]).toEqual([false, false]);
      expect(counts).toEqual({ [third.id]: 4 });
      expect(await journalOf(mergeJob.id)).toBeDefined();
    }
  });

  it('holds 40 parallel undos of one merge: one restores, the others are refused with 409', async () => {
    const word = uniqueWord('parallel');
    const source = await customerWithItems(t, { name: `Ada ${word}`, conversations: 2 });
    const target = await customerWithItems(t, { name: `Grace ${word}`, conversations: 1 });
    const mergeJob = await merge(source.id, target.id);
    const previews = await Promise.all(
      Array.from({ length: 40 }, () => t.call('POST', `/v1/merges/${mergeJob.id}/undo`)),
    );
    expect(previews.map((r) => r.statusCode)).toEqual(Array<number>(40).fill(201));
    const confirms = await Promise.all(
      previews.map((r) => t.call('POST', `/v1/unmerges/${r.json<{ job: Job }>().job.id}/confirm`)),
    );
    const statuses = confirms.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, ...Array<number>(39).fill(409)]);
    for (const refused of confirms.filter((r) => r.statusCode === 409))
      expect(['MERGE_ALREADY_UNDONE', 'PREVIEW_STALE']).toContain(problemOf(refused).code);
    const owners = await t.db.execute<{ customer_id: string; n: number }>(sql`
      select customer_id, count(*)::int as n from conversations
      where customer_id in (${source.id}, ${target.id}) group by 1`);
    expect(Object.fromEntries(owners.rows.map((r) => [r.customer_id, r.n]))).toEqual({
      [source.id]: 2,
      [target.id]: 1,
    });
    const restored = await t.db.execute(
      sql`select 1 from audit_log where action = 'customer.restored' and object_id = ${source.id}`,
    );
    expect(restored.rows).toHaveLength(1);
    // 80 workflows on a shared 2-core machine.
  }, 120_000);

  it('undoes a chain A→B→C in reverse order, and says which merge to undo first', async () => {
    const word = uniqueWord('chain');
    const a = await customerWithItems(t, {
      name: `A ${word}`,
      conversations: 1,
      klass,
      kobjects: 1,
    });
    const b = await customerWithItems(t, { name: `B ${word}`, conversations: 1 });
    const c = await customerWithItems(t, { name: `C ${word}`, conversations: 1 });
    const before = await snapshot([a.id, b.id, c.id]);
    const ab = await merge(a.id, b.id);
    const bc = await merge(b.id, c.id);

    const early = await t.call('POST', `/v1/merges/${ab.id}/undo`);
    expect(problemOf(early)).toMatchObject({ status: 409, code: 'MERGED_AGAIN' });
    expect(problemOf(early).detail).toContain(bc.id);
    expect(await undoStatus(ab.id)).toMatchObject({ undoable: false, code: 'MERGED_AGAIN' });

    await undo(bc.id);
    await undo(ab.id);
    const after = await snapshot([a.id, b.id, c.id]);
    const loose = (snap: typeof before) => withoutUpdatedAt(withoutUpdatedAt(snap, b.id), c.id);
    expect(loose(after)).toEqual(loose(before));
    for (const id of [a.id, b.id, c.id])
      expect((await t.call('GET', `/v1/customers/${id}`)).statusCode).toBe(200);
  });

  it('keeps two customers apart once asked: a later merge needs "override": true', async () => {
    const word = uniqueWord('apart');
    const source = await customerWithItems(t, { name: `Ada ${word}` });
    const target = await customerWithItems(t, { name: `Grace ${word}` });
    await undo((await merge(source.id, target.id)).id, { keepApart: true });
    const refused = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: target.id, targetCustomerId: source.id },
    });
    expect(problemOf(refused)).toMatchObject({ status: 409, code: 'KEPT_APART' });
    await merge(target.id, source.id, { override: true });
  });

  it("is the merge's starter's or an admin's to undo: anyone else is told it does not exist", async () => {
    const word = uniqueWord('starter');
    const source = await customerWithItems(t, { name: `Ada ${word}` });
    const target = await customerWithItems(t, { name: `Grace ${word}` });
    const mergeJob = await merge(source.id, target.id);
    const other = await userWithKey(t.db, { permissions: ['customers.read', 'customers.merge'] });
    for (const [method, url] of [
      ['GET', `/v1/merges/${mergeJob.id}`],
      ['POST', `/v1/merges/${mergeJob.id}/undo`],
    ] as const) {
      const refused = await t.call(method, url, { key: other.key });
      expect(problemOf(refused), url).toMatchObject({ status: 404 });
    }
    expect(await journalOf(mergeJob.id)).toBeDefined();
  });

  it('refuses while an erasure is pending for the target', async () => {
    const word = uniqueWord('pending');
    const source = await customerWithItems(t, { name: `Ada ${word}` });
    const target = await customerWithItems(t, { name: `Grace ${word}` });
    const mergeJob = await merge(source.id, target.id);
    const request = await t.call('POST', '/v1/gdpr-requests', { body: { customerId: target.id } });
    expect(request.statusCode, request.body).toBe(201);
    const refused = await t.call('POST', `/v1/merges/${mergeJob.id}/undo`);
    expect(problemOf(refused)).toMatchObject({ status: 409, code: 'ERASURE_PENDING' });
    expect(await undoStatus(mergeJob.id)).toMatchObject({ code: 'ERASURE_PENDING' });
  });

  it("erases the journal with either customer: no row holds the source's data afterwards", async () => {
    const word = uniqueWord('erased');
    const source = await customerWithItems(t, {
      name: `Ada ${word}`,
      conversations: 1,
      extra: { emails: [{ address: `${word}@mail.example`, preferred: true }] },
    });
    const target = await customerWithItems(t, { name: `Grace ${word}` });
    const mergeJob = await merge(source.id, target.id);
    expect(await journalOf(mergeJob.id)).toBeDefined();

    const erased = await t.call('DELETE', `/v1/customers/${target.id}`, {
      body: { confirm: 'DELETE' },
    });
    expect(erased.statusCode, erased.body).toBe(200);
    expect(erased.json<{ job: Job }>().job.result?.counts).toMatchObject({ mergeJournals: 1 });

    expect(await tablesHolding(t.db, word)).toEqual({});
    expect(await journalOf(mergeJob.id)).toBeUndefined();
    const refused = await t.call('POST', `/v1/merges/${mergeJob.id}/undo`);
    expect(problemOf(refused)).toMatchObject({ status: 410, code: 'CUSTOMER_ERASED' });
  });

  it('erases the journals of a whole chain with the customer it ended in', async () => {
    const word = uniqueWord('chained');
    const a = await customerWithItems(t, { name: `A ${word}`, conversations: 1 });
    const b = await customerWithItems(t, { name: `B ${word}` });
    const c = await customerWithItems(t, { name: `C ${word}` });
    const ab = await merge(a.id, b.id);
    const bc = await merge(b.id, c.id);
    const erased = await t.call('DELETE', `/v1/customers/${c.id}`, {
      body: { confirm: 'DELETE' },
    });
    expect(erased.statusCode, erased.body).toBe(200);
    expect(erased.json<{ job: Job }>().job.result?.counts).toMatchObject({ mergeJournals: 2 });
    expect([await journalOf(ab.id), await journalOf(bc.id)]).toEqual([undefined, undefined]);
    expect(await tablesHolding(t.db, word)).toEqual({});
  });

  it('closes the window: an expired journal is refused, then purged', async () => {
    const word = uniqueWord('window');
    const source = await customerWithItems(t, { name: `Ada ${word}` });
    const target = await customerWithItems(t, { name: `Grace ${word}` });
    const mergeJob = await merge(source.id, target.id);
    const journal = await journalOf(mergeJob.id);
    // MERGE_UNDO_WINDOW's default: 30 days from the merge.
    expect(journal!.expiresAt.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    // The test moves the clock: the window ended a second ago.
    await t.db
      .update(mergeJournals)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(mergeJournals.jobId, mergeJob.id));
    expect(await undoStatus(mergeJob.id)).toMatchObject({ code: 'UNDO_WINDOW_CLOSED' });
    // The worker's maintenance round (every 10 s) purges it.
    await eventually(
      async () => ((await journalOf(mergeJob.id)) === undefined ? true : undefined),
      30_000,
      'the expired journal to be purged',
    );
    await t.db
      .update(jobs)
      .set({ completedAt: sql`now() - interval '31 days'` })
      .where(eq(jobs.id, mergeJob.id));
    const refused = await t.call('POST', `/v1/merges/${mergeJob.id}/undo`);
    expect(problemOf(refused)).toMatchObject({ status: 410, code: 'UNDO_WINDOW_CLOSED' });
  }, 60_000);

  it('says a merge from before the journal cannot be undone, and why', async () => {
    const word = uniqueWord('old');
    const source = await customerWithItems(t, { name: `Ada ${word}` });
    const target = await customerWithItems(t, { name: `Grace ${word}` });
    const mergeJob = await merge(source.id, target.id);
    // As a merge confirmed before this change left it: no window in its parameters, no journal.
    await t.db.delete(mergeJournals).where(eq(mergeJournals.jobId, mergeJob.id));
    await t.db
      .update(jobs)
      .set({ params: sql`params - 'undoWindowMs'` })
      .where(eq(jobs.id, mergeJob.id));
    expect(await undoStatus(mergeJob.id)).toMatchObject({
      undoable: false,
      code: 'NO_MERGE_JOURNAL',
    });
    const refused = await t.call('POST', `/v1/merges/${mergeJob.id}/undo`);
    expect(problemOf(refused)).toMatchObject({ status: 422, code: 'NO_MERGE_JOURNAL' });
  });
});
