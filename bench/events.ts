/**
 * Events benchmark, every part in rounds of `bench/measure.ts` (warm-up, then
 * rounds until two agree within 15 %), each figure beside a same-run baseline:
 * 1. Ingest: each run sends BENCH_EVENTS_RUN (default 20,000) events for one
 *    customer in batches of 1,000 through the API over real HTTP (one client,
 *    one batch at a time); baseline: a server-side SQL `COPY` of the same rows
 *    from a CSV file, right after, for another customer.
 * 2. The busy customer is then filled with COPY (untimed) up to BENCH_EVENTS
 *    (default 1,000,000) events, the table vacuumed, and the first page of the
 *    event list, the list filtered by type and the timeline with events are
 *    timed for it over real HTTP; baseline: the same request for a customer
 *    with 10 events, the two alternating. Each run is 60 requests each; its
 *    p50 and p99 are the run's figures.
 * 3. The merge step that moves the busy customer's events to the 10-event
 *    customer (`moveEvents`, in a transaction rolled back); baseline: the bare
 *    `update … set customer_id` of the same rows to a customer without
 *    events (no external IDs to clear), also rolled back.
 * Run: `npm run bench:events` (BENCH_EVENTS=100000 for a quicker run).
 */
import { chmodSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { buildApp } from '../api/app';
import { createDatabase, type Database } from '../db/client';
import { issueApiKey } from '../db/queries/api-keys';
import { moveEvents } from '../db/queries/events';
import { createUser } from '../db/queries/users';
import { runMigrations } from '../db/migrate';
import { loadConfig } from '../lib/config';
import { startThrowawayStack } from '../stack';
import { rolledBack } from './harness';
import { machineLine, measure, percentile, printMeasured } from './measure';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PER_RUN = Number(process.env.BENCH_EVENTS_RUN ?? 20_000);
const BATCH = 1000;
const REQUESTS_PER_RUN = 60;
const TYPES = ['page_view', 'email_open', 'email_click', 'call', 'form_submission'];
const START = Date.UTC(2025, 0, 1);

/** Event `i` of a run: the same rows for the API and for COPY. */
function eventAt(i: number) {
  return {
    type: TYPES[i % TYPES.length]!,
    occurredAt: new Date(START + i * 15_000).toISOString(),
    properties: { url: `/pages/${i % 500}`, campaign: `c${i % 17}`, seconds: i % 300 },
    externalId: `ev-${i}`,
  };
}

/** Writes events `from` to `to` (exclusive) of `customerId` to a CSV the server can read, then COPYs it; returns ms of the COPY. */
async function copyEvents(
  db: Database,
  csvDir: string,
  customerId: string,
  from: number,
  to: number,
): Promise<number> {
  const csv = path.join(csvDir, 'events.csv');
  const out = createWriteStream(csv, { mode: 0o644 });
  for (let i = from; i < to; i++) {
    const e = eventAt(i);
    const json = JSON.stringify(e.properties).replaceAll('"', '""');
    if (!out.write(`${customerId},${e.type},${e.occurredAt},"${json}",${e.externalId}\n`)) {
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  const started = performance.now();
  await db.execute(
    sql.raw(`copy engagement_events (customer_id, type, occurred_at, properties, external_id)
             from '${csv}' with (format csv)`),
  );
  return performance.now() - started;
}

async function main() {
  if (!Number.isInteger(PER_RUN) || PER_RUN < BATCH || PER_RUN % BATCH !== 0) {
    throw new Error(`BENCH_EVENTS_RUN must be a multiple of ${BATCH}`);
  }
  console.log(`at start: ${machineLine()}`);
  const stack = await startThrowawayStack('bench-events');
  const csvDir = mkdtempSync(path.join(os.tmpdir(), 'custodian-bench-events-'));
  // The server reads the CSV itself, as its own (non-root) user.
  chmodSync(csvDir, 0o755);
  try {
    await runMigrations(stack.env.DATABASE_URL!);
    const config = loadConfig({ ...stack.env, LOG_LEVEL: 'silent' });
    const app = await buildApp({ config, logger: false });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const database = createDatabase(config.databaseUrl, { max: 2 });
    const db = database.db;
    try {
      const admin = await createUser(db, { name: 'Bench', email: 'b@example.com', isAdmin: true });
      const { key } = await issueApiKey(db, admin.id, 'bench');
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const api = async (method: string, url: string, body?: unknown) => {
        const response = await fetch(`${address}/v1${url}`, {
          method,
          headers,
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        const text = await response.text();
        if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${text}`);
        return JSON.parse(text) as unknown;
      };
      const customer = async (name: string) =>
        ((await api('POST', '/customers', { name })) as { id: string }).id;
      const [big, small, copied] = [
        await customer('Busy'),
        await customer('Quiet'),
        await customer('Copied'),
      ];

      // 1. Ingest through the API, then the same rows by COPY.
      let ingested = 0;
      const ingest = await measure(
        async () => {
          const from = ingested;
          ingested += PER_RUN;
          const apiStart = performance.now();
          for (let offset = from; offset < from + PER_RUN; offset += BATCH) {
            const events = Array.from({ length: BATCH }, (_, i) => eventAt(offset + i));
            const result = (await api('POST', `/customers/${big}/events`, { events })) as {
              created: number;
            };
            if (result.created !== BATCH) throw new Error(`batch at ${offset}: ${result.created}`);
          }
          const apiMs = performance.now() - apiStart;
          const copyMs = await copyEvents(db, csvDir, copied, from, from + PER_RUN);
          return { api: PER_RUN / (apiMs / 1000), copy: PER_RUN / (copyMs / 1000) };
        },
        { warmup: 1, runs: 3, maxRounds: 4 },
      );
      console.log(machineLine());
      printMeasured(
        `ingest, ${PER_RUN.toLocaleString('en')} events a run in batches of ${BATCH}, against SQL COPY of the same rows`,
        ingest,
        {
          labels: {
            api: 'API, real HTTP, one client, one batch at a time',
            copy: 'SQL COPY from a server-side CSV',
          },
          baseline: 'copy',
          unit: 'events/s',
        },
      );

      // 2. Fill the busy customer up to TOTAL, settle the table, time the first pages.
      if (ingested < TOTAL) {
        console.log(
          `\nfilling the busy customer up to ${TOTAL.toLocaleString('en')} events with COPY…`,
        );
        await copyEvents(db, csvDir, big, ingested, TOTAL);
      }
      await api('POST', `/customers/${small}/events`, {
        events: Array.from({ length: 10 }, (_, i) => eventAt(i)),
      });
      // Settle the table first, so autovacuum does not run during the measurements.
      await db.execute(sql`vacuum analyze engagement_events`);
      const [{ n: busyCount } = { n: 0 }] = (
        await db.execute<{ n: number }>(
          sql`select count(*)::int as n from engagement_events where customer_id = ${big}`,
        )
      ).rows;

      const pages: [string, (id: string) => string][] = [
        ['GET events', (id) => `/customers/${id}/events`],
        ['GET events?type=call', (id) => `/customers/${id}/events?type=call`],
        ['GET timeline?include=events', (id) => `/customers/${id}/timeline?include=events`],
      ];
      for (const [label, url] of pages) {
        const latency = await measure(
          async () => {
            const ms = { big: [] as number[], small: [] as number[] };
            // Requests for both customers alternate, so load from elsewhere hits both alike.
            for (let i = 0; i < REQUESTS_PER_RUN; i++) {
              for (const which of i % 2
                ? (['big', 'small'] as const)
                : (['small', 'big'] as const)) {
                const started = performance.now();
                await api('GET', url(which === 'big' ? big : small));
                ms[which].push(performance.now() - started);
              }
            }
            return {
              bigP50: percentile(ms.big, 0.5),
              smallP50: percentile(ms.small, 0.5),
              bigP99: percentile(ms.big, 0.99),
              smallP99: percentile(ms.small, 0.99),
            };
          },
          { warmup: 1, runs: 5, maxRounds: 4, check: ['bigP50', 'bigP99'] },
        );
        printMeasured(
          `${label}, first page over real HTTP (${REQUESTS_PER_RUN} requests a run each), against a customer with 10 events`,
          latency,
          {
            labels: {
              bigP50: `p50, ${busyCount.toLocaleString('en')} events`,
              bigP99: `p99, ${busyCount.toLocaleString('en')} events`,
              smallP50: 'baseline p50, 10 events',
              smallP99: 'baseline p99, 10 events',
            },
            baseline: 'smallP50',
            digits: 1,
            what: 'median of runs',
          },
        );
      }
      const executionMs = async (id: string) => {
        const plan = await db.execute<{ 'QUERY PLAN': string }>(sql`
          explain (analyze) select * from engagement_events where customer_id = ${id}
          order by occurred_at desc, id desc limit 26`);
        return plan.rows.map((r) => r['QUERY PLAN']).find((l) => l.startsWith('Execution Time'));
      };
      console.log(
        `\nthe list query in Postgres (explain analyze): ${busyCount.toLocaleString('en')} events ${await executionMs(big)}; 10 events ${await executionMs(small)}`,
      );

      // 3. What a merge of the busy customer would add to its transaction (rolled back).
      let moved = 0;
      // The bare move's target has no events, so no external ID clashes (the 10-event customer's would).
      const empty = await customer('Empty');
      const move = await measure(
        async () => ({
          moveEvents: await rolledBack(db, async (tx) => {
            moved = await moveEvents(tx, big, small);
          }),
          bare: await rolledBack(db, async (tx) => {
            await tx.execute(
              sql`update engagement_events set customer_id = ${empty} where customer_id = ${big}`,
            );
          }),
        }),
        { warmup: 1, runs: 1, maxRounds: 3 },
      );
      printMeasured(
        `merge step moving ${moved.toLocaleString('en')} events to another customer (rolled back), against a bare update`,
        move,
        {
          labels: {
            moveEvents: 'moveEvents (clears clashing external IDs, moves)',
            bare: 'bare update of customer_id',
          },
          baseline: 'bare',
        },
      );
      console.log(`\nat end: ${machineLine()}`);
    } finally {
      await app.close();
      await database.close();
    }
  } finally {
    rmSync(csvDir, { recursive: true, force: true });
    await stack.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
