import type { ChildProcess } from 'node:child_process';
import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, conversations, customers, kobjects, mergeRedirects } from '../../db/schema';
import {
  eventually,
  problemOf,
  startTestApp,
  testConfig,
  uniqueWord,
  type TestApp,
} from '../helpers';
import { spawnWorker } from './spawn-worker';

interface Job {
  id: string;
  status: string;
  result: { counts: Record<string, number> } | null;
}

interface Scenario {
  /** Creates the data and returns the job request and what must hold afterwards. */
  arrange(
    create: (body: unknown, url?: string) => Promise<{ id: string }>,
    targetId: string,
  ): Promise<{
    path: string;
    body: Record<string, unknown>;
    assert(t: TestApp, jobId: string): Promise<void>;
  }>;
}

const scenarios: Record<string, Scenario> = {
  merge: {
    async arrange(create, targetId) {
      const source = await create({ name: `Source ${uniqueWord('crash')}` });
      for (let i = 0; i < 5; i++)
        await create(
          { channel: 'chat', subject: `c${i}` },
          `/v1/customers/${source.id}/conversations`,
        );
      return {
        path: 'merges',
        body: { sourceCustomerId: source.id, targetCustomerId: targetId },
        async assert(t, jobId) {
          const moved = await t.db
            .select()
            .from(conversations)
            .where(eq(conversations.customerId, targetId));
          expect(moved).toHaveLength(8);
          expect(
            await t.db.select().from(customers).where(eq(customers.id, source.id)),
          ).toHaveLength(0);
          expect(
            await t.db
              .select()
              .from(mergeRedirects)
              .where(eq(mergeRedirects.sourceCustomerId, source.id)),
          ).toHaveLength(1);
          expect(await t.db.select().from(auditLog).where(eq(auditLog.jobId, jobId))).toHaveLength(
            2,
          );
        },
      };
    },
  },
  split: {
    async arrange(create, targetId) {
      const source = await create({ name: `Source ${uniqueWord('crash')}` });
      const ids = [];
      for (let i = 0; i < 5; i++)
        ids.push(
          (
            await create(
              { channel: 'chat', subject: `c${i}` },
              `/v1/customers/${source.id}/conversations`,
            )
          ).id,
        );
      return {
        path: 'splits',
        body: {
          sourceCustomerId: source.id,
          targetCustomerId: targetId,
          conversationIds: ids.slice(0, 4),
        },
        async assert(t, jobId) {
          expect(
            await t.db.select().from(conversations).where(eq(conversations.customerId, targetId)),
          ).toHaveLength(7);
          expect(
            await t.db.select().from(conversations).where(eq(conversations.customerId, source.id)),
          ).toHaveLength(1);
          expect(await t.db.select().from(auditLog).where(eq(auditLog.jobId, jobId))).toHaveLength(
            4,
          );
        },
      };
    },
  },
  'KObject move': {
    async arrange(create, targetId) {
      const owner = await create({ name: `Owner ${uniqueWord('crash')}` });
      const klass = `k${uniqueWord('')}`;
      await create({ name: klass, title: 'Crash' }, '/v1/klasses');
      const ids = [];
      for (let i = 0; i < 3; i++)
        ids.push(
          (await create({ klass, title: `k${i}` }, `/v1/customers/${owner.id}/kobjects`)).id,
        );
      return {
        path: 'kobject-moves',
        body: { kobjectIds: ids, targetCustomerId: targetId },
        async assert(t, jobId) {
          expect(
            await t.db.select().from(kobjects).where(eq(kobjects.customerId, targetId)),
          ).toHaveLength(3);
          expect(
            await t.db.select().from(kobjects).where(eq(kobjects.customerId, owner.id)),
          ).toHaveLength(0);
          expect(await t.db.select().from(auditLog).where(eq(auditLog.jobId, jobId))).toHaveLength(
            3,
          );
        },
      };
    },
  },
};

describe.each(Object.keys(scenarios))('a %s survives its worker being killed', (kind) => {
  let t: TestApp;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    // The confirm is expected to answer 202 (its worker dies): no need to wait 15 s for it.
    t = await startTestApp({ config: testConfig({ JOB_REPLY_WAIT: '3s' }) });
  });
  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await t.close();
  });

  it('completes exactly once after SIGKILL between confirm and completion', async () => {
    await spawnWorker(t.config.temporal.taskQueue, workers);
    const create = async (body: unknown, url = '/v1/customers') => {
      const response = await t.call('POST', url, { body });
      expect(response.statusCode, response.body).toBe(201);
      return response.json<{ id: string }>();
    };
    const target = await create({ name: `Target ${uniqueWord('crash')}` });
    for (let i = 0; i < 3; i++)
      await create(
        { channel: 'sms', subject: `t${i}` },
        `/v1/customers/${target.id}/conversations`,
      );
    const scenario = await scenarios[kind]!.arrange(create, target.id);

    const started = await t.call('POST', `/v1/${scenario.path}`, { body: scenario.body });
    // 202 if the preview takes longer than the API waits (a worker just started, a busy machine).
    expect([201, 202], started.body).toContain(started.statusCode);
    const { job } = started.json<{ job: Job }>();
    await eventually(
      async () => {
        const current = (await t.call('GET', `/v1/jobs/${job.id}`)).json<Job>();
        return current.status === 'awaiting_confirmation' ? current : undefined;
      },
      20_000,
      `job ${job.id} awaiting confirmation`,
    );

    // Hold the target's row so the job's transaction is in flight, and stuck, when the worker dies.
    const blocker = new pg.Client({ connectionString: t.config.databaseUrl });
    await blocker.connect();
    const { rows } = await blocker.query<{ pid: number }>('select pg_backend_pid() as pid');
    const blockerPid = rows[0]!.pid;
    await blocker.query('begin');
    await blocker.query('select id from customers where id = $1 for share', [target.id]);
    const confirming = t.call('POST', `/v1/${scenario.path}/${job.id}/confirm`);
    // Only a session this test's blocker holds up counts: other test files
    // run merges of their own that wait on customer locks too.
    await eventually(
      async () => {
        const waiting = await t.db.execute<{ n: number }>(sql`
          select count(*)::int as n from pg_stat_activity
          where ${blockerPid}::int = any(pg_blocking_pids(pid))
            and query ilike '%from "customers"%for update%'`);
        return waiting.rows[0]!.n > 0 ? true : undefined;
      },
      15_000,
      "the job's transaction waiting on the blocker's lock",
    );

    workers[0]!.kill('SIGKILL');
    await blocker.query('rollback');
    await blocker.end();
    expect((await confirming).statusCode).toBe(202);
    expect((await t.call('GET', `/v1/jobs/${job.id}`)).json<Job>().status).toBe(
      'awaiting_confirmation',
    );

    await spawnWorker(t.config.temporal.taskQueue, workers);
    await eventually(
      async () => {
        const current = (await t.call('GET', `/v1/jobs/${job.id}`)).json<Job>();
        return current.status === 'completed' ? current : undefined;
      },
      45_000,
      'job completed on the second worker',
    );
    await scenario.assert(t, job.id);
    // Room for both worker starts and every wait above to reach its own bound first.
  }, 150_000);
});

describe('a merge nobody confirms', () => {
  it('expires after MERGE_CONFIRM_TTL and can no longer be confirmed', async () => {
    const t = await startTestApp({
      worker: true,
      config: testConfig({ MERGE_CONFIRM_TTL: '2s', LOG_LEVEL: 'silent' }),
    });
    try {
      const [a, b] = await Promise.all(
        ['Expiring A', 'Expiring B'].map(async (name) =>
          (await t.call('POST', '/v1/customers', { body: { name } })).json<{ id: string }>(),
        ),
      );
      const { job } = (
        await t.call('POST', '/v1/merges', {
          body: { sourceCustomerId: a!.id, targetCustomerId: b!.id },
        })
      ).json<{
        job: Job & { expiresAt: string };
      }>();
      expect(Date.parse(job.expiresAt) - Date.now()).toBeLessThanOrEqual(2_000);
      await eventually(
        async () => {
          const current = (await t.call('GET', `/v1/jobs/${job.id}`)).json<Job>();
          return current.status === 'expired' ? current : undefined;
        },
        15_000,
        `job ${job.id} expired`,
      );
      const confirm = await t.call('POST', `/v1/merges/${job.id}/confirm`);
      expect(problemOf(confirm)).toMatchObject({
        status: 409,
        code: 'JOB_NOT_AWAITING_CONFIRMATION',
      });
      expect((await t.call('GET', `/v1/customers/${a!.id}`)).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
