/**
 * Two API instances and two worker processes against one set of services, as
 * deploy/compose.yaml runs them (with `--scale api=2`). The APIs are two apps
 * in this process, each with its own Postgres pool, Temporal connection and
 * API-key cache; the workers are processes of their own, so one can be killed
 * like a crashed container. Which worker ran what is read from Temporal: a
 * worker's identity is `<pid>@<host>`, recorded on every ActivityTaskStarted
 * event and on a running activity's `lastWorkerIdentity`.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_CACHE_TTL_MS } from '../../api/plugins/auth';
import { uuidArray } from '../../db/sql';
import { apiKeys, auditLog, customers } from '../../db/schema';
import { spawnWorker } from '../workflows/spawn-worker';
import {
  eventually,
  problemOf,
  startTestApp,
  testConfig,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';
import { jobWhenFinished, startBulkErasure, type Job } from '../job-helpers';

const MERGES = 12;
const ERASED = 400;

let a: TestApp;
let b: TestApp;
const workers: ChildProcess[] = [];
const pidOf = (identity: string) => Number(identity.split('@')[0]);

beforeAll(async () => {
  const config = testConfig();
  [a, b] = [await startTestApp({ config }), await startTestApp({ config })];
  // Small batches, so the erasure below is still running when its worker is killed.
  await spawnWorker(config.temporal.taskQueue, workers, { BULK_BATCH_SIZE: '10' });
  await spawnWorker(config.temporal.taskQueue, workers, { BULK_BATCH_SIZE: '10' });
});
afterAll(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  await Promise.all([a?.close(), b?.close()]);
});

/** Two customers with three conversations each, written straight to Postgres. */
async function seedPair(): Promise<[string, string]> {
  const ids: [string, string] = [randomUUID(), randomUUID()];
  await a.db.execute(sql`
    insert into customers (id, name) select id, 'Scale ' || left(id::text, 8) from unnest(${uuidArray(ids)}) id`);
  await a.db.execute(sql`
    insert into conversations (customer_id, channel, subject)
    select c, 'chat', 'Scale ' || n from unnest(${uuidArray(ids)}) c, generate_series(1, 3) n`);
  return ids;
}

/** Previews a merge through `previewVia` and confirms it through `confirmVia`, as the same admin. */
async function merge(previewVia: TestApp, confirmVia: TestApp, [source, target]: [string, string]) {
  const previewed = await previewVia.call('POST', '/v1/merges', {
    key: a.adminKey,
    body: { sourceCustomerId: source, targetCustomerId: target },
  });
  expect(previewed.statusCode, previewed.body).toBe(201);
  const jobId = previewed.json<{ job: Job }>().job.id;
  const confirmed = await confirmVia.call('POST', `/v1/merges/${jobId}/confirm`, {
    key: a.adminKey,
  });
  expect([200, 202], confirmed.body).toContain(confirmed.statusCode);
  return jobId;
}

/** Identities of the workers that started the workflow's activities, from its history. */
async function activityWorkers(workflowId: string): Promise<string[]> {
  const history = await a.temporal.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .map((event) => event.activityTaskStartedEventAttributes?.identity)
    .filter((identity): identity is string => !!identity);
}

describe('two API instances and two workers on one set of services', () => {
  it('spreads jobs over both workers', async () => {
    const pairs = await Promise.all(Array.from({ length: MERGES }, seedPair));
    const jobIds = await Promise.all(
      pairs.map((pair, i) => (i % 2 ? merge(a, a, pair) : merge(b, b, pair))),
    );
    const perWorker = new Map<number, number>();
    for (const jobId of jobIds) {
      const job = await jobWhenFinished(a, jobId, 60_000);
      expect(job.status).toBe('completed');
      for (const identity of await activityWorkers(job.workflowId)) {
        perWorker.set(pidOf(identity), (perWorker.get(pidOf(identity)) ?? 0) + 1);
      }
    }
    console.log(
      `${MERGES} merges: activity tasks per worker process ${JSON.stringify(Object.fromEntries(perWorker))}`,
    );
    expect([...perWorker.keys()].sort()).toEqual(workers.map((worker) => worker.pid).sort());
  }, 120_000);

  it('confirms through one API a merge previewed through the other', async () => {
    const [source, target] = await seedPair();
    const jobId = await merge(a, b, [source, target]);
    const job = await jobWhenFinished(b, jobId);
    expect(job.status).toBe('completed');
    const seenByA = (await a.call('GET', `/v1/jobs/${jobId}`)).json<Job>();
    expect(seenByA).toMatchObject({ status: 'completed', completedAt: job.completedAt });
    expect(await a.db.select().from(customers).where(eq(customers.id, source))).toEqual([]);
  });

  it('honours a key revoked through one API on the other within the key cache TTL', async () => {
    const user = await userWithKey(a.db);
    for (const api of [a, b]) {
      expect((await api.call('GET', '/v1/me', { key: user.key })).statusCode).toBe(200);
    }
    const [key] = await a.db.select().from(apiKeys).where(eq(apiKeys.userId, user.id));
    const revoked = await a.call('DELETE', `/v1/users/${user.id}/api-keys/${key!.id}`);
    expect(revoked.statusCode).toBe(204);
    const at = Date.now();
    expect(problemOf(await a.call('GET', '/v1/me', { key: user.key })).code).toBe(
      'UNAUTHENTICATED',
    );
    await eventually(
      async () =>
        (await b.call('GET', '/v1/me', { key: user.key })).statusCode === 401 ? true : undefined,
      API_KEY_CACHE_TTL_MS + 2_000,
      'the other API to refuse the revoked key',
    );
    const lag = Date.now() - at;
    console.log(
      `revoked key refused by the other API after ${lag} ms (bound ${API_KEY_CACHE_TTL_MS} ms)`,
    );
    expect(lag).toBeLessThanOrEqual(API_KEY_CACHE_TTL_MS + 1_000);
  });

  it('finishes a bulk erasure on the other worker when the one running it is killed', async () => {
    const word = uniqueWord('scale');
    const seeded = await a.db.execute<{ id: string }>(sql`
      insert into customers (name) select ${word} || ' ' || n from generate_series(1, ${ERASED}) n
      returning id`);
    const ids = seeded.rows.map((row) => row.id);
    await a.db.execute(sql`
      insert into search_outbox (entity, entity_id)
      select 'customer', id from customers where id = any(${uuidArray(ids)})`);
    const saved = await a.create('/v1/saved-searches', { name: word, index: 'customers', q: word });
    await eventually(
      async () => {
        const response = await a.call('GET', `/v1/search/customers?q=${word}&limit=1`);
        return response.json<{ total: number }>().total === ERASED ? true : undefined;
      },
      30_000,
      'the seeded customers in the search index',
    );
    const { job } = await startBulkErasure(a, { entity: 'customers', savedSearchId: saved.id });
    const handle = a.temporal.workflow.getHandle(job.workflowId);
    const runner = await eventually(
      async () => {
        const done = (await a.call('GET', `/v1/jobs/${job.id}`)).json<Job>().progress.done;
        const running = (await handle.describe()).raw.pendingActivities?.[0]?.lastWorkerIdentity;
        return done >= 40 && running ? running : undefined;
      },
      30_000,
      'a running batch of the erasure, forty customers in',
    );
    const victim = workers.find((worker) => worker.pid === pidOf(runner))!;
    const survivor = workers.find((worker) => worker !== victim)!;
    victim.kill('SIGKILL');
    const killedAt = Date.now();

    const finished = await jobWhenFinished(b, job.id, 90_000);
    console.log(
      `bulk erasure of ${ERASED}: worker ${victim.pid} killed, finished by ${survivor.pid} ${Date.now() - killedAt} ms later`,
    );
    expect(finished.status).toBe('completed');
    expect(finished.progress).toEqual({ total: ERASED, done: ERASED, failed: 0 });
    expect(await a.db.select().from(customers).where(inArray(customers.id, ids))).toEqual([]);
    const audited = await a.db
      .select({ objectId: auditLog.objectId })
      .from(auditLog)
      .where(and(eq(auditLog.jobId, job.id), eq(auditLog.action, 'customer.deleted')));
    expect(audited.map((entry) => entry.objectId).sort()).toEqual([...ids].sort());
    // The last batches were the survivor's.
    const lastIdentity = (await activityWorkers(job.workflowId)).at(-1)!;
    expect(pidOf(lastIdentity)).toBe(survivor.pid);
  }, 150_000);
});
