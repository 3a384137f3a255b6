/**
 * What every benchmark and the history recorder share: throw-away services,
 * migrations, the API in-process, a worker, and an admin key — stopped and
 * deleted afterwards whatever happens.
 */
import { sql, TransactionRollbackError } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from '../api/app';
import { createDatabase, type Database, type Transaction } from '../db/client';
import { issueApiKey } from '../db/queries/api-keys';
import { createUser } from '../db/queries/users';
import { runMigrations } from '../db/migrate';
import { uuidArray } from '../db/sql';
import { loadConfig, type Config } from '../lib/config';
import { startThrowawayStack } from '../stack';
import { startWorker } from '../worker';
import { timed } from './measure';

export interface Harness {
  app: FastifyInstance;
  config: Config;
  db: Database;
  /** `Authorization` for the seeded admin. */
  headers: { authorization: string };
  /** The services' addresses and the settings given, for processes the benchmark starts. */
  env: Record<string, string>;
}

export async function withThrowawayApp<T>(
  name: string,
  run: (harness: Harness) => Promise<T>,
  { env = {}, worker = true }: { env?: Record<string, string>; worker?: boolean } = {},
): Promise<T> {
  const stack = await startThrowawayStack(name);
  try {
    await runMigrations(stack.env.DATABASE_URL!);
    const config = loadConfig({ ...stack.env, LOG_LEVEL: 'silent', ...env });
    const running = worker
      ? await startWorker(config, { shutdownGraceTime: '1 second' })
      : undefined;
    const app = await buildApp({ config, logger: false });
    const database = createDatabase(config.databaseUrl, { max: 4 });
    try {
      const admin = await createUser(database.db, {
        name: 'Bench',
        email: `${randomUUID()}@bench.custodian`,
        isAdmin: true,
      });
      const { key } = await issueApiKey(database.db, admin.id, name);
      return await run({
        app,
        config,
        db: database.db,
        headers: { authorization: `Bearer ${key}` },
        env: { ...stack.env, ...env },
      });
    } finally {
      await app.close();
      await running?.shutdown();
      await database.close();
    }
  } finally {
    await stack.destroy();
  }
}

/**
 * Previews a confirmable job (`POST previewUrl`) and confirms it
 * (`POST /v1/<confirmPath>/<jobId>/confirm`); returns both latencies,
 * confirm measured to `completed`.
 */
export async function previewAndConfirm(
  app: FastifyInstance,
  headers: Record<string, string>,
  {
    previewUrl,
    payload,
    confirmPath,
  }: { previewUrl: string; payload: object; confirmPath: string },
): Promise<{ jobId: string; previewMs: number; confirmMs: number }> {
  const t0 = performance.now();
  const previewed = await app.inject({ method: 'POST', url: previewUrl, headers, payload });
  if (previewed.statusCode !== 201 && previewed.statusCode !== 202)
    throw new Error(`preview answered ${previewed.statusCode}: ${previewed.body}`);
  const jobId = previewed.json<{ job: { id: string } }>().job.id;
  // 202: the preview was not ready within the request's brief wait (a loaded
  // machine); it is ready when the job awaits confirmation.
  if (previewed.statusCode === 202) {
    for (;;) {
      const job = await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}`, headers });
      const status = job.json<{ status: string }>().status;
      if (status === 'awaiting_confirmation') break;
      if (status !== 'pending') throw new Error(`job ${jobId} ended ${status} before its preview`);
      await sleep(10);
    }
  }
  const t1 = performance.now();
  const confirmed = await app.inject({
    method: 'POST',
    url: `/v1/${confirmPath}/${jobId}/confirm`,
    headers,
  });
  if (confirmed.statusCode === 202) {
    for (;;) {
      const job = await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}`, headers });
      const status = job.json<{ status: string }>().status;
      if (status === 'completed') break;
      if (status !== 'running' && status !== 'awaiting_confirmation')
        throw new Error(`job ${jobId} ended ${status}`);
      await sleep(10);
    }
  } else if (confirmed.statusCode !== 200) {
    throw new Error(`confirm answered ${confirmed.statusCode}: ${confirmed.body}`);
  }
  return { jobId, previewMs: t1 - t0, confirmMs: performance.now() - t1 };
}

/** Two customers with 3 conversations and 2 KObjects of `klassId` each, written straight to Postgres. */
export async function seedMergePair(db: Database, klassId: string): Promise<[string, string]> {
  const ids: [string, string] = [randomUUID(), randomUUID()];
  await db.execute(sql`
    insert into customers (id, name)
    select id, 'Bench ' || left(id::text, 8) from unnest(${uuidArray(ids)}) id`);
  await db.execute(sql`
    insert into conversations (customer_id, channel, subject)
    select c, 'chat', 'Bench conversation ' || n
    from unnest(${uuidArray(ids)}) c, generate_series(1, 3) n`);
  await db.execute(sql`
    insert into kobjects (customer_id, klass_id, title)
    select c, ${klassId}::uuid, 'Bench order ' || n
    from unnest(${uuidArray(ids)}) c, generate_series(1, 2) n`);
  return ids;
}

/** Previews and confirms one merge; returns both latencies, confirm measured to `completed`. */
export const mergeOnce = (
  app: FastifyInstance,
  headers: Record<string, string>,
  [source, target]: [string, string],
) =>
  previewAndConfirm(app, headers, {
    previewUrl: '/v1/merges',
    payload: { sourceCustomerId: source, targetCustomerId: target },
    confirmPath: 'merges',
  });

/**
 * A customer with `conversations` conversations (two messages each) and
 * `kobjects` KObjects of `klassId`, written in bare SQL.
 */
export async function seedTimelineCustomer(
  db: Database,
  klassId: string,
  { conversations, kobjects }: { conversations: number; kobjects: number },
): Promise<string> {
  const id = randomUUID();
  await db.execute(
    sql`insert into customers (id, name) values (${id}, ${`Bench ${id.slice(0, 8)}`})`,
  );
  await db.execute(sql`
    insert into conversations (customer_id, channel, subject)
    select ${id}::uuid, 'email', 'Bench conversation ' || n from generate_series(1, ${conversations}) n`);
  await db.execute(sql`
    insert into messages (conversation_id, direction, body)
    select c.id, d.direction::message_direction, 'Hello'
    from conversations c cross join (values ('inbound'), ('outbound')) d(direction)
    where c.customer_id = ${id}`);
  await db.execute(sql`
    insert into kobjects (customer_id, klass_id, title)
    select ${id}::uuid, ${klassId}::uuid, 'Bench order ' || n from generate_series(1, ${kobjects}) n`);
  return id;
}

export interface Driven {
  seconds: number;
  previewMs: number[];
  confirmMs: number[];
}

/** Runs `one` over every pair, `concurrency` at a time; times the whole and each job. */
export async function drive(
  pairs: [string, string][],
  concurrency: number,
  one: (pair: [string, string]) => Promise<{ previewMs: number; confirmMs: number }>,
): Promise<Driven> {
  const run: Driven = { seconds: 0, previewMs: [], confirmMs: [] };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < pairs.length) {
        const { previewMs, confirmMs } = await one(pairs[next++]!);
        run.previewMs.push(previewMs);
        run.confirmMs.push(confirmMs);
      }
    }),
  );
  run.seconds = (performance.now() - started) / 1000;
  return run;
}

/** `count` pairs of small customers (`seedMergePair`). */
export const seedPairs = async (db: Database, klassId: string, count: number) => {
  const pairs: [string, string][] = [];
  for (let i = 0; i < count; i++) pairs.push(await seedMergePair(db, klassId));
  return pairs;
};

/** Runs `work` in a transaction, then rolls it back (so every run finds the same rows); its ms. */
export async function rolledBack(
  db: Database,
  work: (tx: Transaction) => Promise<unknown>,
): Promise<number> {
  let ms = 0;
  const started = performance.now();
  await db
    .transaction(async (tx) => {
      await work(tx);
      ms = performance.now() - started;
      tx.rollback();
    })
    .catch((error: unknown) => {
      if (!(error instanceof TransactionRollbackError)) throw error;
    });
  return ms;
}

/** What a merge preview has to read, in bare SQL: both customers and every item either holds; its ms. */
export const bareMergeRead = (db: Database, [a, b]: [string, string]) =>
  timed(() =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select * from customers where id in (${a}, ${b})`);
      await tx.execute(
        sql`select id, customer_id from conversations where customer_id in (${a}, ${b})`,
      );
      await tx.execute(sql`select id, customer_id from kobjects where customer_id in (${a}, ${b})`);
    }),
  );

/** What a merge has to write, in bare SQL: the source's rows moved, the source deleted; its ms. */
export const bareMergeMove = (db: Database, [source, target]: [string, string]) =>
  timed(() =>
    db.transaction(async (tx) => {
      await tx.execute(
        sql`select id from customers where id in (${source}, ${target}) order by id for update`,
      );
      await tx.execute(
        sql`update conversations set customer_id = ${target} where customer_id = ${source}`,
      );
      await tx.execute(
        sql`update kobjects set customer_id = ${target} where customer_id = ${source}`,
      );
      await tx.execute(sql`delete from customers where id = ${source}`);
    }),
  );
