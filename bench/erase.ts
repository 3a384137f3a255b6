/**
 * Bulk erasure benchmark: customers (2 emails, 5 conversations of 4 messages,
 * 3 KObjects each), all indexed, erased through the API from a saved search
 * (preview, then confirmation by count), beside two same-run baselines on
 * identical, freshly loaded sets: the plain SQL cascade delete of the same
 * rows, and that cascade side by side with Meilisearch dropping the same
 * documents (the floor: the least an erasure that keeps the index current
 * needs). For each size it prints the job, when its rows were gone, the
 * baselines, the cost per customer, and the peak memory of Meilisearch and of
 * the process running the API and the worker.
 *
 * How it measures (bench/measure.ts): one untimed warm-up erasure of 1,000
 * customers, then for each size two runs, each a full round of its own, whose
 * figures must agree within 15 % (several rounds of 100,000 customers would
 * take an hour). Sizes: ERASE_SIZES (default `5000,20000`); the 100,000 of
 * the target takes ~15 minutes more on a 2-core machine:
 * `ERASE_SIZES=5000,20000,100000 npm run bench:erase`.
 * BULK_BATCH_SIZE overrides the deployment's batch size.
 */
import { sql } from 'drizzle-orm';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/client';
import type { Config } from '../lib/config';
import { withThrowawayApp } from './harness';
import { machineLine, measure, printMeasured, verdict, type Measured } from './measure';
import { rebuildSearchIndexes } from '../search/rebuild';
import { uuidArray } from '../db/sql';
import { waitForSearchTasks } from '../search/client';
import { emptyProjection, submitProjection } from '../search/documents';
import { DRAIN_BATCH } from '../search/sync';

const SIZES = (process.env.ERASE_SIZES ?? process.env.ERASE_CUSTOMERS ?? '5000,20000')
  .split(',')
  .map((size) => Number(size.trim()))
  .filter((size) => size > 0);
const WARMUP_CUSTOMERS = 1000;
const OBJECTS_PER_CUSTOMER = 1 + 5 + 3;
/** Objects per erasure transaction; the deployment default unless BULK_BATCH_SIZE says otherwise. */
const BATCH_ENV: Record<string, string> = process.env.BULK_BATCH_SIZE
  ? { BULK_BATCH_SIZE: process.env.BULK_BATCH_SIZE }
  : {};
const MiB = 2 ** 20;
/** Runs whose job completed before the index caught up; their time is taken when it did. */
let indexPendingRuns = 0;

/** Loads `count` customers named after `tag`, with their items, in a few set-based statements. */
async function seed(db: Database, tag: string, klassId: string, count: number): Promise<string[]> {
  const customers = await db.execute<{ id: string }>(sql`
    insert into customers (name, emails)
    select ${tag} || ' customer ' || n,
      jsonb_build_array(
        jsonb_build_object('address', ${tag} || n || '@one.example', 'preferred', true),
        jsonb_build_object('address', ${tag} || n || '@two.example', 'preferred', false))
    from generate_series(1, ${count}) n returning id`);
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

/** The Meilisearch server of this stack: the process listening on MEILI_URL's port. */
function meilisearchPid(meiliUrl: string): number | undefined {
  const address = new URL(meiliUrl).host;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((arg) => arg.endsWith('meilisearch')) && args.includes(address))
        return Number(entry);
    } catch {
      // The process ended meanwhile.
    }
  }
  return undefined;
}

/** Resident memory of a process (bytes): all of it, and its anonymous part (not mapped files). */
function residentOf(pid: number): { rss: number; anon: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rss: kib('VmRSS') * 1024, anon: kib('RssAnon') * 1024 };
  } catch {
    return { rss: 0, anon: 0 };
  }
}

/** Samples the peak memory of Meilisearch and of this process (API + worker) until stopped. */
function memorySampler(meiliPid: number | undefined) {
  const peak = { meili: 0, meiliAnon: 0, node: 0 };
  const sample = () => {
    if (meiliPid) {
      const meili = residentOf(meiliPid);
      peak.meili = Math.max(peak.meili, meili.rss);
      peak.meiliAnon = Math.max(peak.meiliAnon, meili.anon);
    }
    peak.node = Math.max(peak.node, process.memoryUsage().rss);
  };
  sample();
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

interface Context {
  app: FastifyInstance;
  config: Config;
  db: Database;
  headers: { authorization: string };
  klassId: string;
  meiliPid: number | undefined;
}

type Figure =
  | 'job'
  | 'rowsGone'
  | 'preview'
  | 'cascade'
  | 'floor'
  | 'unindex'
  | 'perCustomerUs'
  | 'meiliMiB'
  | 'meiliAnonMiB'
  | 'nodeMiB'
  | 'floorMeiliAnonMiB';

/** Erases `count` customers through the API, then measures the two baselines on identical sets. */
async function eraseOnce(
  ctx: Context,
  count: number,
  run: number,
): Promise<Record<Figure, number>> {
  const { app, config, db, headers, klassId } = ctx;
  const tag = `erase${count}r${run}`;
  await seed(db, tag, klassId, count);
  await rebuildSearchIndexes(db, app.meili, config.meili.indexPrefix);
  // Each run starts from tables without the previous run's dead rows.
  await db.execute(sql`vacuum analyze customers, conversations, messages, kobjects, job_items`);

  const saved = await app.inject({
    method: 'POST',
    url: '/v1/saved-searches',
    headers,
    payload: { name: `Everyone ${tag}`, index: 'customers', q: tag },
  });
  const savedSearchId = saved.json<{ id: string }>().id;
  const memory = memorySampler(ctx.meiliPid);
  const started = performance.now();
  const response = await app.inject({
    method: 'POST',
    url: '/v1/bulk-deletes',
    headers,
    payload: { entity: 'customers', savedSearchId },
  });
  if (response.statusCode !== 202) throw new Error(`bulk delete: ${response.body}`);
  const preview = response.json<{ job: { id: string }; selection: { count: number } | null }>();
  const jobId = preview.job.id;
  // The preview froze the selection; its count is the typed confirmation. On a loaded
  // machine the API may answer before the preview is recorded (JOB_REPLY_WAIT): then
  // the job is watched until it awaits its confirmation.
  let selected = preview.selection?.count;
  while (selected === undefined) {
    const watched = (await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}`, headers })).json<{
      status: string;
      progress: { total: number };
    }>();
    if (watched.status === 'awaiting_confirmation') selected = watched.progress.total;
    else if (watched.status !== 'pending') throw new Error(`the preview ended ${watched.status}`);
    else await sleep(20);
  }
  if (selected !== count) throw new Error(`the preview selected ${selected} of ${count}`);
  const previewMs = performance.now() - started;
  const confirmed = await app.inject({
    method: 'POST',
    url: `/v1/bulk-deletes/${jobId}/confirm`,
    headers,
    payload: { confirm: 'DELETE', count: selected },
  });
  if (confirmed.statusCode !== 202) throw new Error(`bulk confirm: ${confirmed.body}`);
  let job: { status: string; progress: { done: number }; result: { indexPending: boolean } };
  let rowsGoneMs: number | undefined;
  for (;;) {
    job = (await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}`, headers })).json();
    if (rowsGoneMs === undefined && job.progress.done === count)
      rowsGoneMs = performance.now() - started;
    if (job.status !== 'running' && job.status !== 'awaiting_confirmation') break;
    await sleep(20);
  }
  if (job.status !== 'completed' || job.progress.done !== count)
    throw new Error(`the erasure ended ${job.status} with ${job.progress.done} done`);
  // A job whose index wait timed out (SEARCH_SETTLE_TIMEOUT, a loaded machine) completes
  // with `indexPending`: its time runs on until the outbox is drained.
  if (job.result.indexPending) {
    indexPendingRuns += 1;
    for (;;) {
      const pending = await db.execute<{ pending: boolean }>(
        sql`select exists (select 1 from search_outbox where processed_at is null) as pending`,
      );
      if (!pending.rows[0]?.pending) break;
      await sleep(20);
    }
  }
  const jobMs = performance.now() - started;
  const peak = memory.stop();

  // The baselines, on identical sets loaded (and indexed) afresh: the plain cascade
  // alone, then the same cascade side by side with Meilisearch dropping the same
  // documents in the rounds the outbox drainer uses.
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
  const bare = await seed(db, `sql${tag}`, klassId, count);
  await db.execute(sql`vacuum analyze customers, conversations, messages, kobjects`);
  let t0 = performance.now();
  await cascade(bare);
  const cascadeMs = performance.now() - t0;

  const floorSet = await seed(db, `floor${tag}`, klassId, count);
  await rebuildSearchIndexes(db, app.meili, config.meili.indexPrefix);
  await db.execute(sql`vacuum analyze customers, conversations, messages, kobjects`);
  const floorMemory = memorySampler(ctx.meiliPid);
  t0 = performance.now();
  let unindexMs = 0;
  await Promise.all([
    cascade(floorSet),
    unindex(floorSet).then(() => (unindexMs = performance.now() - t0)),
  ]);
  const floorMs = performance.now() - t0;
  const floorPeak = floorMemory.stop();
  return {
    job: jobMs,
    rowsGone: rowsGoneMs ?? jobMs,
    preview: previewMs,
    cascade: cascadeMs,
    floor: floorMs,
    unindex: unindexMs,
    perCustomerUs: (jobMs * 1000) / count,
    meiliMiB: peak.meili / MiB,
    meiliAnonMiB: peak.meiliAnon / MiB,
    nodeMiB: peak.node / MiB,
    floorMeiliAnonMiB: floorPeak.meiliAnon / MiB,
  };
}

const labels: Partial<Record<Figure, string>> = {
  job: 'bulk erasure job (API → done, index too)',
  floor: 'floor: cascade + Meilisearch drop',
  rowsGone: 'job: rows gone (progress = all)',
  cascade: 'plain SQL cascade delete (same rows)',
  unindex: 'Meilisearch dropping them alone',
  preview: 'job: preview answered (selection fixed)',
};

async function main() {
  await withThrowawayApp(
    'bench-erase',
    async ({ app, config, db, headers }) => {
      const klass = await db.execute<{ id: string }>(
        sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
      );
      const meiliPid = meilisearchPid(config.meili.url);
      const ctx: Context = { app, config, db, headers, klassId: klass.rows[0]!.id, meiliPid };
      console.log(machineLine());
      // One untimed erasure warms the worker, the dev server and the caches.
      await eraseOnce(ctx, WARMUP_CUSTOMERS, 0);
      const results: { size: number; measured: Measured<Figure> }[] = [];
      let run = 1;
      for (const size of SIZES) {
        const measured = await measure(() => eraseOnce(ctx, size, run++), {
          warmup: 0,
          runs: 1,
          maxRounds: 2,
          check: ['job', 'floor', 'cascade', 'rowsGone'],
        });
        results.push({ size, measured });
        const m = measured.last.medians;
        printMeasured(
          `erasing ${size} customers (2 emails, 5 conversations × 4 messages, 3 KObjects each: ${size * OBJECTS_PER_CUSTOMER} objects); two runs, each a round`,
          measured,
          { labels, baseline: 'floor' },
        );
        console.log(
          `rows gone ${(m.rowsGone / m.cascade).toFixed(1)}× the plain cascade (target ≤ 2×: ${verdict(m.rowsGone <= 2 * m.cascade)}); ` +
            `job ${(m.job / m.floor).toFixed(2)}× the floor (target ≤ 1.2× at 20,000: ${verdict(m.job <= 1.2 * m.floor)}); ` +
            `${m.perCustomerUs.toFixed(0)} µs per customer`,
        );
        console.log(
          `peak memory during the job: Meilisearch ${m.meiliMiB.toFixed(0)} MiB resident (${m.meiliAnonMiB.toFixed(0)} MiB anonymous; ` +
            `${m.floorMeiliAnonMiB.toFixed(0)} MiB anonymous during the floor), API + worker process ${m.nodeMiB.toFixed(0)} MiB`,
        );
      }

      console.log(
        '\ncost per customer and peak memory by size (last run; previous run in brackets)',
      );
      console.log(
        'customers   job µs/customer   floor µs/customer   Meili MiB (anon)   API+worker MiB',
      );
      for (const { size, measured } of results) {
        const m = measured.last.medians;
        const p = measured.previous?.medians ?? m;
        console.log(
          `${String(size).padStart(9)}   ${`${m.perCustomerUs.toFixed(0)} (${p.perCustomerUs.toFixed(0)})`.padStart(15)}   ${((m.floor * 1000) / size).toFixed(0).padStart(17)}   ${`${m.meiliMiB.toFixed(0)} (${m.meiliAnonMiB.toFixed(0)})`.padStart(16)}   ${m.nodeMiB.toFixed(0).padStart(14)}`,
        );
      }
      if (results.length > 1) {
        const costs = results.map(({ measured }) => measured.last.medians.perCustomerUs);
        const spread = Math.max(...costs) / Math.min(...costs) - 1;
        console.log(
          `cost per customer varies by ${(spread * 100).toFixed(0)} % across ${SIZES.join(', ')} (target ≤ 20 %: ${verdict(spread <= 0.2)})`,
        );
        const anon = results.map(({ measured }) => measured.last.medians.meiliAnonMiB);
        const node = results.map(({ measured }) => measured.last.medians.nodeMiB);
        console.log(
          `peak anonymous memory of Meilisearch ${anon.map((v) => v.toFixed(0)).join(' / ')} MiB, ` +
            `API + worker ${node.map((v) => v.toFixed(0)).join(' / ')} MiB for ${SIZES.join(' / ')} customers`,
        );
      }
      if (indexPendingRuns > 0)
        console.log(
          `${indexPendingRuns} job(s) completed with the search index pending (the index wait timed out); ` +
            'their time was taken when the outbox was drained',
        );
      if (!SIZES.includes(100_000))
        console.log('(100,000 customers: ERASE_SIZES=5000,20000,100000 npm run bench:erase)');
    },
    { env: BATCH_ENV },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
