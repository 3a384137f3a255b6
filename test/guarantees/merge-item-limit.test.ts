/**
 * The merge limit's boundary: two customers holding exactly MERGE_ITEM_LIMIT
 * conversations and KObjects together merge; one item more — a KObject, so
 * both kinds count — is refused with 422 MERGE_LIMIT_EXCEEDED and nothing
 * moves. The limit comes from configuration (5 here).
 */
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversations, customers, kobjects } from '../../db/schema';
import { problemOf, testConfig, uniqueWord, type TestApp } from '../helpers';
import { customerWithItems, startJobTestApp, type Job } from '../job-helpers';

const LIMIT = 5;

let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp(testConfig({ MERGE_ITEM_LIMIT: String(LIMIT) })));
});
afterAll(() => t.close());

/** Owner of each conversation and KObject among these IDs, by ID. */
async function ownersOf(ids: string[]): Promise<Record<string, string>> {
  const rows = [
    ...(await t.db
      .select({ id: conversations.id, owner: conversations.customerId })
      .from(conversations)
      .where(inArray(conversations.id, ids))),
    ...(await t.db
      .select({ id: kobjects.id, owner: kobjects.customerId })
      .from(kobjects)
      .where(inArray(kobjects.id, ids))),
  ];
  return Object.fromEntries(rows.map((row) => [row.id, row.owner]));
}

const itemsOf = (customer: { conversationIds: string[]; kobjectIds: string[] }) => [
  ...customer.conversationIds,
  ...customer.kobjectIds,
];

const previewMerge = (sourceCustomerId: string, targetCustomerId: string) =>
  t.call('POST', '/v1/merges', { body: { sourceCustomerId, targetCustomerId } });

describe('the merge item limit', () => {
  it('allows a merge of exactly MERGE_ITEM_LIMIT conversations and KObjects together', async () => {
    const word = uniqueWord('limit');
    const source = await customerWithItems(t, {
      name: `Src ${word}`,
      klass,
      conversations: 2,
      kobjects: 1,
    });
    const target = await customerWithItems(t, {
      name: `Tgt ${word}`,
      klass,
      conversations: 1,
      kobjects: 1,
    });
    expect(itemsOf(source).length + itemsOf(target).length).toBe(LIMIT);

    const previewed = await previewMerge(source.id, target.id);
    expect(previewed.statusCode, previewed.body).toBe(201);
    const job = previewed.json<{ job: Job }>().job;
    expect(job.status).toBe('awaiting_confirmation');

    const confirmed = await t.call('POST', `/v1/merges/${job.id}/confirm`);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json<{ job: Job }>().job.status).toBe('completed');
    const all = [...itemsOf(source), ...itemsOf(target)];
    expect(await ownersOf(all)).toEqual(Object.fromEntries(all.map((id) => [id, target.id])));
    expect(await t.db.select().from(customers).where(eq(customers.id, source.id))).toEqual([]);
  });

  it('refuses one item more with 422 MERGE_LIMIT_EXCEEDED, rejects the job and moves nothing', async () => {
    const word = uniqueWord('over');
    const source = await customerWithItems(t, {
      name: `Src ${word}`,
      klass,
      conversations: 2,
      kobjects: 2,
    });
    const target = await customerWithItems(t, {
      name: `Tgt ${word}`,
      klass,
      conversations: 1,
      kobjects: 1,
    });
    expect(itemsOf(source).length + itemsOf(target).length).toBe(LIMIT + 1);

    const refused = await previewMerge(source.id, target.id);
    expect(refused.statusCode, refused.body).toBe(422);
    const problem = problemOf(refused);
    expect(problem.code).toBe('MERGE_LIMIT_EXCEEDED');
    const job = (await t.call('GET', `/v1/jobs/${problem.jobId as string}`)).json<Job>();
    expect(job).toMatchObject({ status: 'rejected', error: { code: 'MERGE_LIMIT_EXCEEDED' } });
    const confirm = await t.call('POST', `/v1/merges/${job.id}/confirm`);
    expect(confirm.statusCode, confirm.body).toBe(409);

    expect(await ownersOf([...itemsOf(source), ...itemsOf(target)])).toEqual({
      ...Object.fromEntries(itemsOf(source).map((id) => [id, source.id])),
      ...Object.fromEntries(itemsOf(target).map((id) => [id, target.id])),
    });
    expect((await t.call('GET', `/v1/customers/${source.id}`)).statusCode).toBe(200);
  });
});
