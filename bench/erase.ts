/**
 * Bulk erasure benchmark: customers (2 emails, 5 conversations of 4 messages,
 * 3 KObjects each), all indexed, erased through the API from a saved search,
 * next to a plain SQL cascade delete of an identical, freshly loaded set, and
 * that cascade side by side with Meilisearch dropping the same documents.
 * Prints elapsed time, objects per second and the worker's peak memory.
 * Run: `npm run bench:erase` (ERASE_CUSTOMERS=20000 by default).
 */
import { sql } from 'drizzle-orm';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/client';
import { withThrowawayApp } from './harness';
import { rebuildSearchIndexes } from '../search/rebuild';
import { uuidArray } from '../db/sql';
import { waitForSearchTasks } from '../search/client';
import { emptyProjection, submitProjection } from '../search/documents';
import { DRAIN_BATCH } from '../search/sync';

const CUSTOMERS = Number(process.env.ERASE_CUSTOMERS ?? 20_000);
const OBJECTS_PER_CUSTOMER = 1 + 5 + 3;
/** Objects per erasure transaction; the deployment default unless BULK_BATCH_SIZE says otherwise. */
const BATCH_ENV: Record<string, string> = process.env.BULK_BATCH_SIZE
  ? { BULK_BATCH_SIZE: process.env.BULK_BATCH_SIZE }
  : {};

/** Loads `CUSTOMERS` customers named after `tag`, with their items, in a few set-based statements. */
async function seed(db: Database, tag: string, klassId: string): Promise<string[]> {
  const customers = await db.execute<{ id: string }>(sql`
    insert into customers (name, emails)
    select ${tag} || ' customer ' || n,
      jsonb_build_array(
        jsonb_build_object('address', ${tag} || n || '@one.example', 'preferred', true),
        jsonb_build_object('address', ${tag} || n || '@two.example', 'preferred', false))
    from generate_series(1, ${CUSTOMERS}) n returning id`);
  const ids = customers.rows.map((row) => row.id);
  const all = uuidArray(ids);
  await db.execute(sql`
    insert into conversations (customer_id, channel, subject)
    select c, 'email', 'Bench conversation ' || n
    from unnest(${all}) c cross join generate_series(1, 5) n`);
  await db.execute(sql`
    insert into messages (conversation_id, direction, body)
    select v.id, 'inbound', 'Bench message ' || n
    from conversations v cross join generate_series(1, 4) n where v.customer_id = any(${all})`);
  await db.execute(sql`
    insert into kobjects (customer_id, klass_id, title)
    select c, ${klassId}::uuid, 'Bench order ' || n
    from unnest(${all}) c cross join generate_series(1, 3) n`);
  return ids;
}

async function main() {
  await withThrowawayApp(
    'bench-erase',
    async ({ app, config, db, headers }) => {
      const klass = await db.execute<{ id: string }>(
        sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
      );
      const klassId = klass.rows[0]!.id;

      let started = performance.now();
      await seed(db, 'erasebench', klassId);
      const seedMs = performance.now() - started;
      started = performance.now();
      await rebuildSearchIndexes(db, app.meili, config.meili.indexPrefix);
      const indexMs = performance.now() - started;

      const saved = await app.inject({
        method: 'POST',
        url: '/v1/saved-searches',
        headers,
        payload: { name: 'Everyone', index: 'customers', q: 'erasebench' },
      });
      const savedSearchId = saved.json<{ id: string }>().id;
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }, 50);
      started = performance.now();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/bulk-deletes',
        headers,
        payload: { entity: 'customers', savedSearchId },
      });
      if (response.statusCode !== 202) throw new Error(`bulk delete: ${response.body}`);
      const preview = response.json<{ job: { id: string }; selection: { count: number } }>();
      const jobId = preview.job.id;
      // The preview froze the selection; its count is the typed confirmation.
      const selectedMs = performance.now() - started;
      const confirmed = await app.inject({
        method: 'POST',
        url: `/v1/bulk-deletes/${jobId}/confirm`,
        headers,
        payload: { confirm: 'DELETE', count: preview.selection.count },
      });
      if (confirmed.statusCode !== 202) throw new Error(`bulk confirm: ${confirmed.body}`);
      let job: {
        status: string;
        progress: { done: number; total: number };
        result: { indexPending: boolean };
      };
      let rowsGoneMs: number | undefined;
      for (;;) {
        job = (await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}`, headers })).json();
        if (rowsGoneMs === undefined && job.progress.done === CUSTOMERS)
          rowsGoneMs = performance.now() - started;
        if (job.status !== 'running' && job.status !== 'pending') break;
        await sleep(20);
      }
      const eraseMs = performance.now() - started;
      clearInterval(sampler);
      if (job.status !== 'completed' || job.progress.done !== CUSTOMERS)
        throw new Error(`the erasure ended ${job.status} with ${job.progress.done} done`);

      // The floors, on an identical set loaded and indexed afresh: the plain
      // cascade alone, then the same cascade side by side with Meilisearch
      // dropping the same documents (what the outbox drainer submits, in the
      // same rounds) — the least any erasure that keeps the index current needs.
      const cascade = async (ids: string[]) => {
        for (let i = 0; i < ids.length; i += 1000) {
          const slice = ids.slice(i, i + 1000);
          await db.execute(sql`delete from customers where id = any(${uuidArray(slice)})`);
        }
      };
      const unindex = async (ids: string[]) => {
        for (let i = 0; i < ids.length; i += DRAIN_BATCH) {
          const projection = emptyProjection();
          projection.removals.customer = ids.slice(i, i + DRAIN_BATCH);
          await waitForSearchTasks(
            app.meili,
            submitProjection(app.meili, config.meili.indexPrefix, projection),
          );
        }
      };
      const bare = await seed(db, 'sqlbench', klassId);
      started = performance.now();
      await cascade(bare);
      const sqlMs = performance.now() - started;
      const floorSet = await seed(db, 'floorbench', klassId);
      await rebuildSearchIndexes(db, app.meili, config.meili.indexPrefix);
      started = performance.now();
      let unindexMs = 0;
      await Promise.all([
        cascade(floorSet),
        unindex(floorSet).then(() => (unindexMs = performance.now() - started)),
      ]);
      const floorMs = performance.now() - started;

      const objects = CUSTOMERS * OBJECTS_PER_CUSTOMER;
      console.log(
        `\nerasing ${CUSTOMERS} customers (2 emails, 5 conversations × 4 messages, 3 KObjects each: ${objects} objects)`,
      );
      console.log(
        `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
      );
      console.log(
        `seeding ${(seedMs / 1000).toFixed(1)} s; indexing ${(indexMs / 1000).toFixed(1)} s\n`,
      );
      console.log('                                          seconds   objects/s');
      const line = (label: string, ms: number) =>
        console.log(
          `${label.padEnd(42)}${(ms / 1000).toFixed(1).padStart(7)}   ${(objects / (ms / 1000)).toFixed(0).padStart(9)}`,
        );
      line('bulk erasure job (API → done, index too)', eraseMs);
      line('plain SQL cascade delete (same rows)', sqlMs);
      line('cascade + Meilisearch drop, side by side', floorMs);
      console.log(
        `  (Meilisearch dropping the same documents alone: ${(unindexMs / 1000).toFixed(1)} s)`,
      );
      console.log(
        `  of which: selection fixed after ${((selectedMs ?? 0) / 1000).toFixed(1)} s, rows gone after ${((rowsGoneMs ?? eraseMs) / 1000).toFixed(1)} s, the rest waits for the search index`,
      );
      console.log(
        `\nratio ${(eraseMs / sqlMs).toFixed(1)}× the plain cascade (target ≤ 2×), ` +
          `${(eraseMs / floorMs).toFixed(1)}× the cascade with Meilisearch beside it; ` +
          `search index pending at the end: ${job.result.indexPending}`,
      );
      console.log(
        `peak memory of the process running API and worker: ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
      );
    },
    { env: BATCH_ENV },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
