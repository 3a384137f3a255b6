/**
 * Events benchmark: ingests BENCH_EVENTS (default 1,000,000) events for one
 * customer in batches of 1,000 through the API over real HTTP (one client,
 * one batch at a time), next to a server-side SQL `COPY` of the same rows from
 * a CSV file into the same table; then the first-page latency of the event
 * list (and of the timeline with events) for that customer against one with
 * 10 events, and the time the merge step that moves the events takes for
 * the busy customer. Run: `npm run bench:events` (BENCH_EVENTS=100000 for a quicker run).
 */
import { chmodSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { sql, TransactionRollbackError } from 'drizzle-orm';
import { buildApp } from '../api/app';
import { createDatabase } from '../db/client';
import { issueApiKey } from '../db/queries/api-keys';
import { moveEvents } from '../db/queries/events';
import { createUser } from '../db/queries/users';
import { runMigrations } from '../db/migrate';
import { loadConfig } from '../lib/config';
import { startThrowawayStack } from '../stack';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const BATCH = 1000;
const LATENCY_RUNS = 300;
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

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function main() {
  if (!Number.isInteger(TOTAL) || TOTAL < BATCH || TOTAL % BATCH !== 0) {
    throw new Error(`BENCH_EVENTS must be a multiple of ${BATCH}`);
  }
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

      console.log(`ingesting ${TOTAL.toLocaleString('en')} events through the API…`);
      const apiStart = performance.now();
      for (let offset = 0; offset < TOTAL; offset += BATCH) {
        const events = Array.from({ length: BATCH }, (_, i) => eventAt(offset + i));
        const result = (await api('POST', `/customers/${big}/events`, { events })) as {
          created: number;
        };
        if (result.created !== BATCH) throw new Error(`batch at ${offset}: ${result.created}`);
        if ((offset / BATCH) % 100 === 99) {
          const rate = (offset + BATCH) / ((performance.now() - apiStart) / 1000);
          console.log(`  ${(offset + BATCH).toLocaleString('en')} (${rate.toFixed(0)} events/s)`);
        }
      }
      const apiSeconds = (performance.now() - apiStart) / 1000;
      await api('POST', `/customers/${small}/events`, {
        events: Array.from({ length: 10 }, (_, i) => eventAt(i)),
      });

      const csv = path.join(csvDir, 'events.csv');
      const out = createWriteStream(csv, { mode: 0o644 });
      for (let i = 0; i < TOTAL; i++) {
        const e = eventAt(i);
        const json = JSON.stringify(e.properties).replaceAll('"', '""');
        if (!out.write(`${copied},${e.type},${e.occurredAt},"${json}",${e.externalId}\n`)) {
          await once(out, 'drain');
        }
      }
      out.end();
      await once(out, 'finish');
      console.log('copying the same rows with SQL COPY…');
      const copyStart = performance.now();
      await db.execute(
        sql.raw(`copy engagement_events (customer_id, type, occurred_at, properties, external_id)
                 from '${csv}' with (format csv)`),
      );
      const copySeconds = (performance.now() - copyStart) / 1000;
      // Settle the table first, so autovacuum does not run during the measurements.
      await db.execute(sql`vacuum analyze engagement_events`);

      const stats = (ms: number[]) =>
        `${percentile(ms, 0.5).toFixed(1).padStart(6)} ms ${percentile(ms, 0.99).toFixed(1).padStart(7)} ms`;
      /** Requests for both customers alternate, so load from elsewhere hits both alike. */
      const compare = async (url: (id: string) => string) => {
        const ms = new Map<string, number[]>([
          [big, []],
          [small, []],
        ]);
        for (let i = 0; i < LATENCY_RUNS + 20; i++) {
          for (const id of i % 2 ? [big, small] : [small, big]) {
            const started = performance.now();
            await api('GET', url(id));
            if (i >= 20) ms.get(id)!.push(performance.now() - started);
          }
        }
        return `${stats(ms.get(big)!)}   ${stats(ms.get(small)!)}`;
      };
      const executionMs = async (id: string) => {
        const plan = await db.execute<{ 'QUERY PLAN': string }>(sql`
          explain (analyze) select * from engagement_events where customer_id = ${id}
          order by occurred_at desc, id desc limit 26`);
        return plan.rows.map((r) => r['QUERY PLAN']).find((l) => l.startsWith('Execution Time'));
      };
      const rows: [string, string][] = [
        ['GET events', await compare((id) => `/customers/${id}/events`)],
        ['GET events?type=call', await compare((id) => `/customers/${id}/events?type=call`)],
        [
          'GET timeline?include=events',
          await compare((id) => `/customers/${id}/timeline?include=events`),
        ],
      ];

      const rate = (seconds: number) => `${(TOTAL / seconds).toFixed(0).padStart(8)} events/s`;
      console.log(
        `\n${TOTAL.toLocaleString('en')} events, batches of ${BATCH}; machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB\n`,
      );
      console.log(
        `API, real HTTP, one client, one batch at a time   ${rate(apiSeconds)}  (${apiSeconds.toFixed(1)} s)`,
      );
      console.log(
        `SQL COPY of the same rows from a server-side CSV  ${rate(copySeconds)}  (${copySeconds.toFixed(1)} s)`,
      );
      console.log(
        `\nfirst page, ${LATENCY_RUNS} requests each,     ${`${TOTAL.toLocaleString('en')} events`.padEnd(20)}   10 events`,
      );
      console.log('real HTTP                      median     p99        median     p99');
      for (const [label, figures] of rows) console.log(`${label.padEnd(30)} ${figures}`);
      console.log(
        `\nthe list query in Postgres (explain analyze): ${TOTAL.toLocaleString('en')} events ${await executionMs(big)}; 10 events ${await executionMs(small)}`,
      );

      // What a merge of the busy customer would add to its transaction (rolled back here).
      const moveStart = performance.now();
      let moved = 0;
      await db
        .transaction(async (tx) => {
          moved = await moveEvents(tx, big, small);
          tx.rollback();
        })
        .catch((error: unknown) => {
          if (!(error instanceof TransactionRollbackError)) throw error;
        });
      console.log(
        `merge step moving ${moved.toLocaleString('en')} events to another customer: ${((performance.now() - moveStart) / 1000).toFixed(1)} s`,
      );
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
