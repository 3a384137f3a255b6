/**
 * Write benchmark: creates conversations (one message each) through the HTTP
 * API with 1, 10 and 40 concurrent clients, spread over many customers and all
 * on one customer, and prints requests/s and latencies next to plain SQL
 * inserts of the same rows with the same concurrency, and how many times
 * faster plain SQL was (SQL/API: the API's overhead, measured in the same run
 * under the same load, the median of three alternating rounds). Any failed
 * request fails the run. Run: `npm run bench:writes`.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
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

const REQUESTS = 600;
/** Each row alternates API and plain SQL this many times, REQUESTS / ROUNDS requests a side each. */
const ROUNDS = 3;
const CONCURRENCY = [1, 10, 40];
const CUSTOMERS = 200;
const DAY = '2026-01-15';

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

/** Several rounds as one: their time, latencies and errors added up. */
const merged = (results: Result[]): Result => ({
  seconds: results.reduce((sum, r) => sum + r.seconds, 0),
  latencies: results.flatMap((r) => r.latencies),
  errors: results.flatMap((r) => r.errors),
});

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

const median = (values: number[]) => percentile(values, 0.5);

async function main() {
  const stack = await startThrowawayStack('bench-writes');
  try {
    await runMigrations(stack.env.DATABASE_URL!);
    const config = loadConfig({ ...stack.env, LOG_LEVEL: 'silent' });
    const app = await buildApp({ config, logger: false });
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    const database = createDatabase(config.databaseUrl, { max: 4 });
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
      const viaApi = (pick: (i: number) => string) => async (i: number) => {
        const response = await fetch(
          `http://127.0.0.1:${port}/v1/customers/${pick(i)}/conversations`,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: body(i),
          },
        );
        const text = await response.text();
        if (response.status !== 201) throw new Error(`${response.status} ${text}`);
      };
      const viaSql = (pick: (i: number) => string) => async (i: number) => {
        const client = await pool.connect();
        try {
          await client.query('begin');
          const { rows } = await client.query<{ id: string }>(
            `insert into conversations (customer_id, channel, subject, created_at, last_activity_at)
             values ($1, 'email', $2, $3, $3) returning id`,
            [pick(i), `Bench ${i}`, `${DAY}T10:00:00.000Z`],
          );
          await client.query(
            `insert into messages (conversation_id, direction, body, sent_at)
             values ($1, 'inbound', 'Hello from the benchmark', $2)`,
            [rows[0]!.id, `${DAY}T10:00:00.000Z`],
          );
          await client.query('commit');
        } catch (error) {
          await client.query('rollback');
          throw error;
        } finally {
          client.release();
        }
      };

      const spreads: [string, (i: number) => string][] = [
        [`${CUSTOMERS} customers`, (i) => customerIds[i % CUSTOMERS]!],
        ['one customer', () => customerIds[0]!],
      ];
      await drive(50, 10, viaApi(spreads[0]![1])); // warm-up: JIT, pools, plans
      let apiCreated = 50;

      console.log(
        `\nconversation creates (1 message each), ${REQUESTS} requests per row; ` +
          `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
          `load average ${os.loadavg()[0]!.toFixed(1)}\n`,
      );
      console.log(
        'clients  spread          API req/s  p50 ms  p99 ms   SQL req/s  p50 ms  p99 ms   SQL/API  errors',
      );
      let failed = 0;
      for (const concurrency of CONCURRENCY) {
        for (const [spread, pick] of spreads) {
          // The two sides alternate in rounds, and the ratio is the median of the rounds'
          // ratios, so a burst of other work on the machine skews one round, not the row.
          const rounds: { api: Result; plain: Result }[] = [];
          for (let round = 0; round < ROUNDS; round++) {
            rounds.push({
              api: await drive(REQUESTS / ROUNDS, concurrency, viaApi(pick)),
              plain: await drive(REQUESTS / ROUNDS, concurrency, viaSql(pick)),
            });
          }
          const api = merged(rounds.map((r) => r.api));
          const plain = merged(rounds.map((r) => r.plain));
          apiCreated += REQUESTS - api.errors.length;
          failed += api.errors.length + plain.errors.length;
          const ratio = median(rounds.map((r) => r.api.seconds / r.plain.seconds));
          const figures = (result: Result) =>
            `${(REQUESTS / result.seconds).toFixed(0).padStart(9)}  ` +
            `${percentile(result.latencies, 0.5).toFixed(1).padStart(6)}  ` +
            `${percentile(result.latencies, 0.99).toFixed(1).padStart(6)}`;
          console.log(
            `${String(concurrency).padStart(7)}  ${spread.padEnd(14)}  ${figures(api)}  ` +
              `${figures(plain)}  ${ratio.toFixed(1).padStart(7)}×  ` +
              `${String(api.errors.length + plain.errors.length).padStart(6)}`,
          );
          for (const error of new Set([...api.errors, ...plain.errors]))
            console.log(`         ${error}`);
        }
      }

      const report = await fetch(
        `http://127.0.0.1:${port}/v1/reports/conversations?from=${DAY}&to=${DAY}`,
        { headers: { authorization: `Bearer ${key}` } },
      );
      const { total } = (await report.json()) as { total: number };
      console.log(`\nreport counts ${total} conversations; the API created ${apiCreated}`);
      console.log(`load average at the end: ${os.loadavg()[0]!.toFixed(1)}`);
      if (total !== apiCreated) failed += 1;
      if (failed > 0) {
        console.error(`\n${failed} failures`);
        process.exitCode = 1;
      }
    } finally {
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
