/**
 * Write benchmark: creates conversations (one message each) through the HTTP
 * API with 1, 10 and 40 concurrent clients, spread over many customers and all
 * on one customer, and prints requests/s and latencies next to plain SQL
 * inserts of the same rows with the same concurrency, and how many times
 * longer the API took (the API's overhead, measured in the same run under the
 * same load). The HTTP client runs in a process of its own, as real clients
 * do (`bench/load-client.ts`). Each row: a warm-up run, then rounds of three
 * alternating runs until two rounds agree within 15 % (`bench/measure.ts`).
 * Any failed request fails the run. Run: `npm run bench:writes`.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { buildApp } from '../api/app';
import { createDatabase } from '../db/client';
import { issueApiKey } from '../db/queries/api-keys';
import { createUser } from '../db/queries/users';
import { runMigrations } from '../db/migrate';
import { loadConfig } from '../lib/config';
import { freePort, startThrowawayStack } from '../stack';
import { uuidArray } from '../db/sql';
import { startLoadClient } from './load-client';
import { machineLine, measure, percentile, verdict } from './measure';

/** Requests a side in each run; a run alternates API and plain SQL. */
const REQUESTS = 200;
const CONCURRENCY = [1, 10, 40];
const CUSTOMERS = 200;
const DAY = '2026-01-15';
const TARGET_RATIO = 2;
const TARGET_CLIENTS = 10;

interface Result {
  seconds: number;
  latencies: number[];
  errors: string[];
}

/** Runs `count` calls of `one` with `concurrency` callers at a time. */
async function drive(
  count: number,
  concurrency: number,
  one: (i: number) => Promise<void>,
): Promise<Result> {
  const latencies: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        try {
          await one(i);
        } catch (error) {
          errors.push(error instanceof Error ? error.message : String(error));
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies, errors };
}

/** Several runs as one: their time, latencies and errors added up. */
const merged = (results: Result[]): Result => ({
  seconds: results.reduce((sum, r) => sum + r.seconds, 0),
  latencies: results.flatMap((r) => r.latencies),
  errors: results.flatMap((r) => r.errors),
});

async function main() {
  const stack = await startThrowawayStack('bench-writes');
  try {
    await runMigrations(stack.env.DATABASE_URL!);
    const config = loadConfig({ ...stack.env, LOG_LEVEL: 'silent' });
    const app = await buildApp({ config, logger: false });
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    const database = createDatabase(config.databaseUrl, { max: 4 });
    const client = startLoadClient();
    // The same pool size as the API's, for the plain SQL side.
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
    // An idle client whose connection drops must not end the run; say so instead.
    pool.on('error', (error) => console.error(`plain SQL pool: ${error.message}`));
    try {
      const db = database.db;
      const admin = await createUser(db, {
        name: 'Bench',
        email: 'bench@example.com',
        isAdmin: true,
      });
      const { key } = await issueApiKey(db, admin.id, 'bench');
      const customerIds = Array.from({ length: CUSTOMERS }, () => randomUUID());
      await db.execute(sql`
        insert into customers (id, name)
        select id, 'Bench customer' from unnest(${uuidArray(customerIds)}) as id`);

      const body = (i: number) =>
        JSON.stringify({
          channel: 'email',
          subject: `Bench ${i}`,
          createdAt: `${DAY}T10:00:00.000Z`,
          messages: [{ direction: 'inbound', body: 'Hello from the benchmark' }],
        });
      let sent = 0;
      const viaApi = async (
        pick: (i: number) => string,
        concurrency: number,
        count: number,
      ): Promise<Result> =>
        client.run({
          port,
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
          concurrency,
          expect: 201,
          requests: Array.from({ length: count }, () => {
            const i = sent++;
            return { path: `/v1/customers/${pick(i)}/conversations`, body: body(i) };
          }),
        });
      const viaSql = (pick: (i: number) => string) => async (i: number) => {
        const connection = await pool.connect();
        try {
          await connection.query('begin');
          const { rows } = await connection.query<{ id: string }>(
            `insert into conversations (customer_id, channel, subject, created_at, last_activity_at)
             values ($1, 'email', $2, $3, $3) returning id`,
            [pick(i), `Bench ${i}`, `${DAY}T10:00:00.000Z`],
          );
          await connection.query(
            `insert into messages (conversation_id, direction, body, sent_at)
             values ($1, 'inbound', 'Hello from the benchmark', $2)`,
            [rows[0]!.id, `${DAY}T10:00:00.000Z`],
          );
          await connection.query('commit');
        } catch (error) {
          await connection.query('rollback');
          throw error;
        } finally {
          connection.release();
        }
      };

      const spreads: [string, (i: number) => string][] = [
        [`${CUSTOMERS} customers`, (i) => customerIds[i % CUSTOMERS]!],
        ['one customer', () => customerIds[0]!],
      ];

      console.log(
        `\nconversation creates (1 message each) over HTTP from a separate client process, against plain SQL inserts of the same rows (${REQUESTS} requests a side per run)`,
      );
      console.log(machineLine());
      console.log(
        '\nclients  spread          API req/s  p50 ms  p99 ms   SQL req/s  p50 ms  p99 ms   API ÷ SQL time  previous round  rounds',
      );
      let failed = 0;
      const ratios = new Map<string, number>();
      for (const concurrency of CONCURRENCY) {
        for (const [spread, pick] of spreads) {
          const runs: { api: Result; plain: Result }[] = [];
          // Each run alternates the two sides, so a burst of other work on the
          // machine skews one run, not one side.
          const measured = await measure(
            async () => {
              const api = await viaApi(pick, concurrency, REQUESTS);
              const plain = await drive(REQUESTS, concurrency, viaSql(pick));
              runs.push({ api, plain });
              return { ratio: api.seconds / plain.seconds };
            },
            { warmup: 1, runs: 3, maxRounds: 5 },
          );
          const counted = runs.slice(1); // the warm-up run is not reported
          const api = merged(counted.map((r) => r.api));
          const plain = merged(counted.map((r) => r.plain));
          failed += runs.reduce((n, r) => n + r.api.errors.length + r.plain.errors.length, 0);
          const figures = (result: Result) =>
            `${(result.latencies.length / result.seconds).toFixed(0).padStart(9)}  ` +
            `${percentile(result.latencies, 0.5).toFixed(1).padStart(6)}  ` +
            `${percentile(result.latencies, 0.99).toFixed(1).padStart(6)}`;
          ratios.set(`${concurrency} ${spread}`, measured.last.medians.ratio);
          console.log(
            `${String(concurrency).padStart(7)}  ${spread.padEnd(14)}  ${figures(api)}  ` +
              `${figures(plain)}  ${measured.last.medians.ratio.toFixed(2).padStart(13)}×  ` +
              `${(measured.previous?.medians.ratio.toFixed(2) ?? '—').padStart(13)}×  ${String(measured.rounds).padStart(6)}${measured.stable ? '' : ' (rounds differ by more than 15 %)'}`,
          );
          for (const error of new Set(runs.flatMap((r) => [...r.api.errors, ...r.plain.errors])))
            console.log(`         ${error}`);
        }
      }
      const atTarget = [...ratios].filter(([row]) => row.startsWith(`${TARGET_CLIENTS} `));
      console.log(
        `\ntarget: API ≤ ${TARGET_RATIO}× plain SQL at ${TARGET_CLIENTS} clients: ${verdict(atTarget.every(([, ratio]) => ratio <= TARGET_RATIO))} (${atTarget.map(([row, ratio]) => `${row}: ${ratio.toFixed(2)}×`).join('; ')})`,
      );
      const apiCreated = sent;

      const report = await fetch(
        `http://127.0.0.1:${port}/v1/reports/conversations?from=${DAY}&to=${DAY}`,
        { headers: { authorization: `Bearer ${key}` } },
      );
      const { total } = (await report.json()) as { total: number };
      console.log(`\nreport counts ${total} conversations; the API created ${apiCreated}`);
      console.log(machineLine());
      if (total !== apiCreated) failed += 1;
      if (failed > 0) {
        console.error(`\n${failed} failures`);
        process.exitCode = 1;
      }
    } finally {
      client.stop();
      await app.close();
      await pool.end();
      await database.close();
    }
  } finally {
    await stack.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
