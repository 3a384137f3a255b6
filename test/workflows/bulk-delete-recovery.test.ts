import type { ChildProcess } from 'node:child_process';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, customers } from '../../db/schema';
import { eventually, startTestApp, uniqueWord, type TestApp } from '../helpers';
import { jobWhenFinished, startBulkErasure, type Job } from '../job-helpers';
import { spawnWorker } from './spawn-worker';
import { uuidArray } from '../../db/sql';

// More than Meilisearch's default 1,000 hits: the saved search must page through all of them.
const CUSTOMERS = 1200;

describe('a bulk erasure survives its worker being killed', () => {
  let t: TestApp;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await t.close();
  });

  it('finishes with exactly the selected objects deleted, each once', async () => {
    const word = uniqueWord('resume');
    const seeded = await t.db.execute<{ id: string }>(sql`
      insert into customers (name) select ${word} || ' ' || n from generate_series(1, ${CUSTOMERS}) n
      returning id`);
    const ids = seeded.rows.map((row) => row.id);
    await t.db.execute(sql`
      insert into conversations (customer_id, channel, subject)
      select id, 'email', 'resume' from customers where id = any(${uuidArray(ids)})`);
    await t.db.execute(sql`
      insert into search_outbox (entity, entity_id)
      select 'customer', id from customers where id = any(${uuidArray(ids)})`);
    const bystander = (
      await t.db
        .insert(customers)
        .values({ name: `${word}son bystander` })
        .returning()
    )[0]!;
    // More than BULK_SELECTION_LIMIT objects: the selection comes from a saved search, which
    // selects whole words only (the bystander's longer word is not one).
    const saved = await t.create('/v1/saved-searches', { name: word, index: 'customers', q: word });

    await spawnWorker(t.config.temporal.taskQueue, workers, { BULK_BATCH_SIZE: '20' });
    await eventually(
      async () => {
        const response = await t.call('GET', `/v1/search/customers?q=${word}&limit=1`);
        return response.json<{ total: number }>().total === CUSTOMERS ? true : undefined;
      },
      30_000,
      'the seeded customers in the search index',
    );
    const jobId = (await startBulkErasure(t, { entity: 'customers', savedSearchId: saved.id })).job
      .id;
    const midway = await eventually(
      async () => {
        const job = (await t.call('GET', `/v1/jobs/${jobId}`)).json<Job>();
        return job.progress.done >= 100 ? job : undefined;
      },
      30_000,
      'a hundred customers deleted',
    );
    workers[0]!.kill('SIGKILL');
    expect(midway.progress.done).toBeLessThan(CUSTOMERS);

    await spawnWorker(t.config.temporal.taskQueue, workers, { BULK_BATCH_SIZE: '20' });
    const job = await jobWhenFinished(t, jobId, 60_000);
    expect(job.status).toBe('completed');
    expect(job.progress).toEqual({ total: CUSTOMERS, done: CUSTOMERS, failed: 0 });
    expect(await t.db.select().from(customers).where(inArray(customers.id, ids))).toEqual([]);
    expect(await t.db.select().from(customers).where(eq(customers.id, bystander.id))).toHaveLength(
      1,
    );
    const deleted = await t.db
      .select({ objectId: auditLog.objectId })
      .from(auditLog)
      .where(and(eq(auditLog.jobId, jobId), eq(auditLog.action, 'customer.deleted')));
    expect(deleted.map((e) => e.objectId).sort()).toEqual([...ids].sort());
    expect(job.result?.counts).toMatchObject({ customers: CUSTOMERS, conversations: CUSTOMERS });
  }, 150_000);
});
