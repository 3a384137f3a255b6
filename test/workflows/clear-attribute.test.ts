import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributeDefinitions, customers } from '../../db/schema';
import {
  clearAttributeBatch,
  removeAttributeDefinition,
} from '../../operations/attribute-definitions';
import { jobWorkflowId, searchAttributes } from '../../workflows/contracts';
import { decodedHistory, startTestApp, uniqueWord, type TestApp } from '../helpers';
import { jobWhenFinished } from '../job-helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: true });
});
afterAll(() => t.close());

const ROWS = 25;

/** A definition with `ROWS` customers holding a value that names `word`, and a bystander without one. */
async function definitionWithValues(word: string) {
  const name = `cl${uniqueWord('')}`;
  const definition = (
    await t.call('POST', '/v1/attribute-definitions', {
      body: { entity: 'customer', name, label: 'To clear', type: 'text', searchable: true },
    })
  ).json<{ id: string }>();
  const seeded = await t.db.execute<{ id: string }>(sql`
    insert into customers (name, custom_attributes)
    select 'Clear ' || n, jsonb_build_object(${name}::text, ${word}::text || '-' || n, 'keep', n)
    from generate_series(1, ${ROWS}) n returning id`);
  const [bystander] = await t.db
    .insert(customers)
    .values({ name: 'Bystander', customAttributes: { keep: 0 } })
    .returning();
  return { name, definition, ids: seeded.rows.map((r) => r.id).sort(), bystander: bystander! };
}

const holders = async (name: string) =>
  (
    await t.db.execute<{ n: number }>(
      sql`select count(*)::int as n from customers where custom_attributes ? ${name}`,
    )
  ).rows[0]!.n;

async function clearingJob(definitionId: string) {
  const outcome = await removeAttributeDefinition(t.db, t.adminId, definitionId, {
    clearValues: true,
    workflowIdOf: (jobId) => jobWorkflowId('attribute_clear', jobId),
  });
  if (outcome.removed) throw new Error('expected a job');
  return outcome.job;
}

describe('clearAttributeWorkflow', () => {
  it('clears in batches across continue-as-new, resumes after work done before it, and keeps values out of history', async () => {
    const word = uniqueWord('secret');
    const { name, definition, ids, bystander } = await definitionWithValues(word);
    const job = await clearingJob(definition.id);
    expect(job.progressTotal).toBe(ROWS);

    // A batch that committed before the workflow (as a crashed attempt's would) is not done again.
    const early = await clearAttributeBatch(t.db, job.id, null, 4);
    expect(early).toMatchObject({ cleared: 4, last: ids[3], done: 4 });
    const again = await clearAttributeBatch(t.db, job.id, null, 4);
    expect(again).toMatchObject({ cleared: 4, last: ids[7], done: 8 });

    const handle = await t.temporal.workflow.start('clearAttributeWorkflow', {
      taskQueue: t.config.temporal.taskQueue,
      workflowId: job.workflowId,
      args: [{ jobId: job.id, batchSize: 3, batchesPerRun: 2 }],
      typedSearchAttributes: [{ key: searchAttributes.jobId, value: job.id }],
    });
    const finished = await jobWhenFinished(t, job.id);
    expect(finished).toMatchObject({
      status: 'completed',
      progress: { total: ROWS, done: ROWS, failed: 0 },
    });
    expect(await holders(name)).toBe(0);
    // Only the cleared attribute went; the rest of every row stayed.
    const rows = await t.db.execute<{ keep: number }>(sql`
      select (custom_attributes ->> 'keep')::int as keep from customers
      where id = any(${`{${ids.join(',')}}`}::uuid[]) order by keep`);
    expect(rows.rows.map((r) => r.keep)).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
    const [kept] = await t.db.select().from(customers).where(eq(customers.id, bystander.id));
    expect(kept!.customAttributes).toEqual({ keep: 0 });
    expect(
      await t.db
        .select()
        .from(attributeDefinitions)
        .where(eq(attributeDefinitions.id, definition.id)),
    ).toEqual([]);

    const firstRun = await t.temporal.workflow
      .getHandle(job.workflowId, handle.firstExecutionRunId)
      .fetchHistory();
    expect(firstRun.events?.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(
      true,
    );
    const history = await decodedHistory(t.temporal, job.workflowId);
    expect(history).toContain(job.id);
    expect(history).not.toContain(word);
  });

  it('starts a pass over when a value turns up behind its cursor (a merge moved one there)', async () => {
    const word = uniqueWord('late');
    const { name, definition, ids } = await definitionWithValues(word);
    const job = await clearingJob(definition.id);
    await clearAttributeBatch(t.db, job.id, null, 10);
    // The first row holds a value again, as a merge filling its empty attribute would leave it.
    await t.db.execute(sql`
      update customers set custom_attributes = custom_attributes || jsonb_build_object(${name}::text, 'back')
      where id = ${ids[0]!}`);
    const rest = await clearAttributeBatch(t.db, job.id, ids[9]!, 100);
    expect(rest).toMatchObject({ cleared: ROWS - 10, last: null, remaining: 1 });
    const over = await clearAttributeBatch(t.db, job.id, null, 100);
    expect(over).toMatchObject({ cleared: 1, last: null, remaining: 0 });
    expect(await holders(name)).toBe(0);
  });
});
