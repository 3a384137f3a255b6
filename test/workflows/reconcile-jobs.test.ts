import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createJob, listOpenJobs, type OpenJob } from '../../db/queries/job-rows';
import { executeDelete } from '../../operations/delete';
import { linkErasureJob } from '../../operations/gdpr-requests';
import { auditLog, customers, jobItems, jobs, notifications } from '../../db/schema';
import { ensureReconcileSchedule } from '../../lib/job-workflows';
import { startWorker } from '../../worker';
import {
  jobWorkflowId,
  jobWorkflows,
  reconcileSchedule,
  type ReconcileJobsResult,
  type WorkflowJobType,
} from '../../workflows/contracts';
import {
  eventually,
  problemOf,
  startTestApp,
  testConfig,
  uniqueWord,
  type TestApp,
} from '../helpers';
import {
  customerWithItems,
  finishedDeleteJob,
  holdCustomerRow,
  jobWhenFinished,
  startJobTestApp,
  type Job,
} from '../job-helpers';

const EventType = proto.temporal.api.enums.v1.EventType;

let t: TestApp;
let klass: string;
/**
 * The same API answering after a second instead of the test's 15 s: a
 * confirmed bulk erasure is still running when it answers, and an erasure
 * that cannot finish is answered 202 without waiting long for it.
 */
let quick: TestApp;
beforeAll(async () => {
  // One object per bulk batch, so a bulk erasure can be caught running.
  ({ t, klass } = await startJobTestApp(testConfig({ BULK_BATCH_SIZE: '1' })));
  quick = await startTestApp({ config: { ...t.config, jobReplyWaitMs: 1000 } });
});
afterAll(async () => {
  await quick?.close();
  await t?.close();
});

const newCustomer = async () => (await t.create('/v1/customers', { name: uniqueWord('Rc') })).id;

const jobRow = async (id: string) => (await t.db.select().from(jobs).where(eq(jobs.id, id)))[0]!;

/**
 * With `RECORD_WORKFLOW_HISTORIES=1`, writes a workflow's history for the
 * replay test (test/workflows/replay.test.ts) under `name`.
 */
async function recordHistory(workflowId: string, name: string) {
  if (!process.env.RECORD_WORKFLOW_HISTORIES) return;
  const history = await t.temporal.workflow.getHandle(workflowId).fetchHistory();
  writeFileSync(
    new URL(`./histories/${name}.history.bin`, import.meta.url),
    proto.temporal.api.history.v1.History.encode(history).finish(),
  );
}

/** Runs the reconciler on the test's worker for these jobs, as the Schedule does for all. */
const reconcile = (jobIds: string[]) =>
  t.temporal.workflow.execute('reconcileJobsWorkflow', {
    taskQueue: t.config.temporal.taskQueue,
    workflowId: `reconcile-test-${randomUUID()}`,
    args: [{ jobIds }],
  }) as Promise<ReconcileJobsResult>;

/** The job_finished notices its starter (the admin unless said) got about a job. */
const finishedNotices = async (jobId: string, starterId = t.adminId) =>
  t.db
    .select({ title: notifications.title })
    .from(notifications)
    .where(
      and(
        eq(notifications.jobId, jobId),
        eq(notifications.userId, starterId),
        eq(notifications.kind, 'job_finished'),
      ),
    );

/**
 * What Temporal UI's "Reset" does: a new run from the first completed
 * workflow task. Returns once the new run has completed a workflow task of
 * its own (it has taken up the workflow again).
 */
async function resetToFirstWorkflowTask(client: Client, workflowId: string): Promise<string> {
  const handle = client.workflow.getHandle(workflowId);
  const isTaskCompleted = (e: proto.temporal.api.history.v1.IHistoryEvent) =>
    e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
  const first = await eventually(async () =>
    (await handle.fetchHistory()).events!.find(isTaskCompleted),
  );
  const { runId } = await handle.describe();
  const { runId: newRunId } = await client.workflowService.resetWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId, runId },
    reason: 'test: reset from Temporal UI',
    workflowTaskFinishEventId: first.eventId,
    requestId: randomUUID(),
  });
  await eventually(async () => {
    const events = (await handle.fetchHistory()).events!;
    const resetAt = events.findIndex(
      (e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    );
    return resetAt >= 0 && events.slice(resetAt).some(isTaskCompleted) ? true : undefined;
  }, 20_000);
  return newRunId;
}

/**
 * A job whose workflow is started on a task queue no worker polls: it stays
 * open and never runs a step, like a job caught before its first step.
 */
async function jobWithIdleWorkflow(
  type: WorkflowJobType,
  params: Record<string, unknown>,
  options: { workflowExecutionTimeout?: string } = {},
) {
  const id = randomUUID();
  const { job } = await createJob(t.db, {
    id,
    type,
    startedBy: t.adminId,
    params,
    workflowId: jobWorkflowId(type, id),
  });
  await t.temporal.workflow.start(jobWorkflows[type].workflowType, {
    taskQueue: `idle-${randomUUID()}`,
    workflowId: job.workflowId,
    args: [{ jobId: id }],
    ...options,
  });
  return job;
}

/**
 * Starts a bulk erasure as a careful user does: waits out a preview still
 * being made (the quick API answers before it on a busy machine), then
 * confirms with the previewed count.
 */
async function startBulkErasure(api: TestApp, body: Record<string, unknown>): Promise<Job> {
  const started = await api.call('POST', '/v1/bulk-deletes', { body });
  expect(started.statusCode, started.body).toBe(202);
  let job = started.json<{ job: Job }>().job;
  if (job.status === 'pending') {
    job = await eventually(async () => {
      const current = (await api.call('GET', `/v1/jobs/${job.id}`)).json<Job>();
      return current.status === 'pending' ? undefined : current;
    });
  }
  expect(job.status).toBe('awaiting_confirmation');
  const count = (job.preview as { count: number }).count;
  const confirmed = await api.call('POST', `/v1/bulk-deletes/${job.id}/confirm`, {
    body: { confirm: 'DELETE', count },
  });
  expect(confirmed.statusCode, confirmed.body).toBe(202);
  return confirmed.json<{ job: Job }>().job;
}

const previewPaths = {
  merge: async () => ({
    url: '/v1/merges',
    body: { sourceCustomerId: await newCustomer(), targetCustomerId: await newCustomer() },
  }),
  split: async () => {
    const source = await customerWithItems(t, { name: uniqueWord('Rs'), conversations: 2 });
    return {
      url: '/v1/splits',
      body: {
        sourceCustomerId: source.id,
        targetCustomerId: await newCustomer(),
        conversationIds: source.conversationIds.slice(0, 1),
      },
    };
  },
  kobject_move: async () => {
    const owner = await customerWithItems(t, { name: uniqueWord('Rk'), klass, kobjects: 2 });
    return {
      url: '/v1/kobject-moves',
      body: { kobjectIds: owner.kobjectIds, targetCustomerId: await newCustomer() },
    };
  },
};

async function previewedJob(type: keyof typeof previewPaths): Promise<Job> {
  const { url, body } = await previewPaths[type]();
  const response = await t.call('POST', url, { body });
  expect(response.statusCode, response.body).toBe(201);
  const job = response.json<{ job: Job }>().job;
  expect(job.status).toBe('awaiting_confirmation');
  return job;
}

describe('a merge, split or move awaiting confirmation', () => {
  for (const type of ['merge', 'split', 'kobject_move'] as const) {
    it(`${type}: terminated in Temporal UI, it is settled failed WORKFLOW_TERMINATED and its starter told once`, async () => {
      const job = await previewedJob(type);
      await t.temporal.workflow.getHandle(job.workflowId).terminate('test: terminate in UI');

      const result = await reconcile([job.id]);
      expect(result.settled).toEqual([
        { jobId: job.id, status: 'failed', code: 'WORKFLOW_TERMINATED' },
      ]);
      const settled = (await t.call('GET', `/v1/jobs/${job.id}`)).json<Job>();
      expect(settled.status).toBe('failed');
      expect(settled.error!.code).toBe('WORKFLOW_TERMINATED');
      // A confirm now is refused by the row, not answered from a dead workflow.
      const confirm = await t.call('POST', `/v1/${urlOf(type)}/${job.id}/confirm`);
      expect(confirm.statusCode, confirm.body).toBe(409);
      expect(problemOf(confirm).code).toBe('JOB_NOT_AWAITING_CONFIRMATION');

      // Again: nothing more to settle, nobody told twice.
      expect((await reconcile([job.id])).settled).toEqual([]);
      expect(await finishedNotices(job.id)).toHaveLength(1);
    });

    it(`${type}: reset in Temporal UI, it goes on in the new run and completes when confirmed`, async () => {
      const job = await previewedJob(type);
      await resetToFirstWorkflowTask(t.temporal, job.workflowId);

      expect((await reconcile([job.id])).settled).toEqual([]);
      expect((await jobRow(job.id)).status).toBe('awaiting_confirmation');

      const confirmed = await t.call('POST', `/v1/${urlOf(type)}/${job.id}/confirm`);
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      expect(confirmed.json<{ job: Job }>().job.status).toBe('completed');
      expect((await reconcile([job.id])).settled).toEqual([]);
    });
  }
});

const urlOf = (type: keyof typeof previewPaths) =>
  ({ merge: 'merges', split: 'splits', kobject_move: 'kobject-moves' })[type];

describe('a single delete', () => {
  it('terminated before its first step: settled failed WORKFLOW_TERMINATED, nothing deleted, starter told once', async () => {
    const customerId = await newCustomer();
    const job = await jobWithIdleWorkflow('delete', { entity: 'customer', id: customerId });
    await t.temporal.workflow.getHandle(job.workflowId).terminate('test: terminate in UI');

    expect((await reconcile([job.id])).settled).toEqual([
      { jobId: job.id, status: 'failed', code: 'WORKFLOW_TERMINATED' },
    ]);
    expect((await jobRow(job.id)).error?.code).toBe('WORKFLOW_TERMINATED');
    expect(await t.db.select().from(customers).where(eq(customers.id, customerId))).toHaveLength(1);
    expect(await finishedNotices(job.id)).toHaveLength(1);
  });

  it('timed out: settled failed WORKFLOW_TIMED_OUT', async () => {
    const job = await jobWithIdleWorkflow(
      'delete',
      { entity: 'customer', id: await newCustomer() },
      { workflowExecutionTimeout: '1 second' },
    );
    await eventually(async () => {
      const { status } = await t.temporal.workflow.getHandle(job.workflowId).describe();
      return status.name === 'TIMED_OUT' ? true : undefined;
    });
    expect((await reconcile([job.id])).settled).toEqual([
      { jobId: job.id, status: 'failed', code: 'WORKFLOW_TIMED_OUT' },
    ]);
  });

  it('whose workflow never started: left alone within the grace period, then settled WORKFLOW_NOT_FOUND', async () => {
    const id = randomUUID();
    await createJob(t.db, {
      id,
      type: 'delete',
      startedBy: t.adminId,
      params: { entity: 'customer', id: await newCustomer() },
      workflowId: jobWorkflowId('delete', id),
    });
    expect((await reconcile([id])).settled).toEqual([]);
    expect((await jobRow(id)).status).toBe('pending');

    await t.db
      .update(jobs)
      .set({ createdAt: sql`now() - interval '1 hour'` })
      .where(eq(jobs.id, id));
    expect((await reconcile([id])).settled).toEqual([
      { jobId: id, status: 'failed', code: 'WORKFLOW_NOT_FOUND' },
    ]);
  });

  it('reset after it completed: the new run finds the deletion done and deletes nothing twice', async () => {
    const customerId = await newCustomer();
    const deleted = await t.call('DELETE', `/v1/customers/${customerId}`, {
      body: { confirm: 'DELETE' },
    });
    expect([200, 202], deleted.body).toContain(deleted.statusCode);
    const job = await jobWhenFinished(t, deleted.json<{ job: Job }>().job.id);
    expect(job.status).toBe('completed');

    const newRun = await resetToFirstWorkflowTask(t.temporal, job.workflowId);
    const outcome: unknown = await t.temporal.workflow.getHandle(job.workflowId, newRun).result();
    expect(outcome).toMatchObject({ status: 'completed', counts: job.result!.counts });
    const after = await jobRow(job.id);
    expect(after.status).toBe('completed');
    expect(after.completedAt).toEqual(new Date(job.completedAt!));
    expect(
      await t.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.jobId, job.id), eq(auditLog.objectId, customerId))),
    ).toHaveLength(1);
    expect((await reconcile([job.id])).settled).toEqual([]);
  });
});

describe('a bulk erasure caught running', () => {
  /**
   * Erases customers one per batch while the second one is locked by another
   * transaction, so the job is running with one done for several seconds.
   */
  async function runningErasure() {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await newCustomer());
    const { release } = await holdCustomerRow(t, ids[1]!);
    const job = await startBulkErasure(quick, { entity: 'customers', ids });
    await eventually(async () => {
      const row = await jobRow(job.id);
      return row.status === 'running' && row.progressDone === 1 ? row : undefined;
    });
    return { job, ids, release };
  }

  it('terminated: settled failed WORKFLOW_TERMINATED, what it had not reached skipped and kept, starter told once', async () => {
    const { job, ids, release } = await runningErasure();
    // Held until the job is settled: a batch already handed to the worker runs on after a
    // terminate (Temporal does not stop it), and finds the second customer still held.
    try {
      await t.temporal.workflow.getHandle(job.workflowId).terminate('test: terminate in UI');
      // The API's cancel finds the workflow closed and has the job settled at once,
      // instead of answering 202 `running` until the Schedule's next run.
      const cancel = await t.call('POST', `/v1/bulk-deletes/${job.id}/cancel`);
      expect(cancel.statusCode, cancel.body).toBe(200);
      expect(cancel.json<{ job: Job }>().job).toMatchObject({
        status: 'failed',
        error: { code: 'WORKFLOW_TERMINATED' },
      });
    } finally {
      await release();
    }
    expect((await reconcile([job.id])).settled).toEqual([]);
    const settled = (await t.call('GET', `/v1/jobs/${job.id}`)).json<Job>();
    expect(settled.status).toBe('failed');
    expect(settled.error!.code).toBe('WORKFLOW_TERMINATED');
    expect(settled.progress).toEqual({ total: 5, done: 1, failed: 0 });
    const items = await t.db
      .select({ objectId: jobItems.objectId, status: jobItems.status })
      .from(jobItems)
      .where(eq(jobItems.jobId, job.id))
      .orderBy(jobItems.position);
    expect(items).toEqual(
      ids.map((objectId, i) => ({ objectId, status: i === 0 ? 'done' : 'skipped' })),
    );
    const left = await t.db
      .select({ id: customers.id })
      .from(customers)
      .where(inArray(customers.id, ids));
    expect(left.map((c) => c.id).sort()).toEqual(ids.slice(1).sort());
    const again = await quick.call('POST', `/v1/bulk-deletes/${job.id}/cancel`);
    expect(again.statusCode, again.body).toBe(409);
    expect(problemOf(again).code).toBe('JOB_FINISHED');
    expect(await finishedNotices(job.id, quick.adminId)).toHaveLength(1);
  });

  it('reset: the new run goes on from the rows and erases exactly the selection once', async () => {
    const { job, ids, release } = await runningErasure();
    try {
      await resetToFirstWorkflowTask(t.temporal, job.workflowId);
      expect((await reconcile([job.id])).settled).toEqual([]);
    } finally {
      await release();
    }
    const finished = await jobWhenFinished(t, job.id, 60_000);
    expect(finished.status).toBe('completed');
    expect(finished.progress).toEqual({ total: 5, done: 5, failed: 0 });
    const left = await t.db
      .select({ id: customers.id })
      .from(customers)
      .where(inArray(customers.id, ids));
    expect(left).toEqual([]);
    for (const id of ids) {
      expect(
        await t.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.objectId, id), eq(auditLog.jobId, job.id))),
      ).toHaveLength(1);
    }
  });
});

describe('the open jobs the reconciler reads', () => {
  it('are paged through once each, also jobs created in the same microsecond', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = randomUUID();
      await createJob(t.db, {
        id,
        type: 'delete',
        startedBy: t.adminId,
        params: { entity: 'customer', id: randomUUID() },
        workflowId: jobWorkflowId('delete', id),
      });
      ids.push(id);
    }
    await t.db
      .update(jobs)
      .set({ createdAt: sql`'2020-01-01 00:00:00.123456+00'::timestamptz` })
      .where(inArray(jobs.id, ids));
    const seen: string[] = [];
    let after: OpenJob | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await listOpenJobs(t.db, { jobIds: ids, after, limit: 1 });
      if (page.length === 0) break;
      seen.push(...page.map((job) => job.id));
      after = page.at(-1);
    }
    expect(seen).toEqual([...ids].sort());
  });
});

describe('the reconcile Schedule', () => {
  it('is created by the worker process when it starts, on its task queue at the configured interval', async () => {
    const config = testConfig({ JOB_RECONCILE_INTERVAL: '1h' });
    const worker = await startWorker(config, {
      workflowBundle: { codePath: inject('workflowBundlePath') },
      shutdownGraceTime: '1 second',
      reconcileSchedule: true,
    });
    const handle = t.temporal.schedule.getHandle(reconcileSchedule.scheduleId);
    try {
      const described = await handle.describe();
      expect(described.spec.intervals?.map((i) => i.every)).toEqual([3_600_000]);
      expect(described.action).toMatchObject({
        workflowType: 'reconcileJobsWorkflow',
        taskQueue: config.temporal.taskQueue,
      });
    } finally {
      // Deleted at once: a run over every open job of the shared test database is no test's to make.
      await handle.delete();
      await worker.shutdown();
    }
  });

  it('is created once, follows the configured interval, and settles a terminated job when it runs', async () => {
    const job = await jobWithIdleWorkflow('delete', {
      entity: 'customer',
      id: await newCustomer(),
    });
    await t.temporal.workflow.getHandle(job.workflowId).terminate('test: terminate in UI');
    const scheduleId = `reconcile-test-${randomUUID()}`;
    const options = {
      scheduleId,
      taskQueue: t.config.temporal.taskQueue,
      intervalMs: 3_600_000,
      input: { jobIds: [job.id] },
    };
    const handle = t.temporal.schedule.getHandle(scheduleId);
    try {
      await ensureReconcileSchedule(t.temporal, options);
      await ensureReconcileSchedule(t.temporal, { ...options, intervalMs: 120_000 });
      const described = await handle.describe();
      expect(described.spec.intervals?.map((i) => i.every)).toEqual([120_000]);
      expect(described.action.workflowType).toBe('reconcileJobsWorkflow');

      await handle.trigger();
      const settled = await eventually(async () => {
        const row = await jobRow(job.id);
        return row.status === 'failed' ? row : undefined;
      }, 20_000);
      expect(settled.error?.code).toBe('WORKFLOW_TERMINATED');
    } finally {
      await handle.delete();
    }
  });
});

describe('a GDPR request following an erasure job whose workflow was terminated', () => {
  interface Request {
    id: string;
    customerId: string;
    status: string;
    workflowId: string;
    erasureJobId: string | null;
  }

  /** A request whose erasure job is linked and running, its workflow idle until terminated. */
  async function requestFollowingIdleErasure() {
    const customerId = await newCustomer();
    const request = await t.create<Request>('/v1/gdpr-requests', { customerId });
    const job = await jobWithIdleWorkflow('delete', { entity: 'customer', id: customerId });
    const linked = await quick.call('POST', `/v1/gdpr-requests/${request.id}/erase`);
    expect(linked.statusCode, linked.body).toBe(202);
    expect(linked.json<{ job: Job }>().job.id).toBe(job.id);
    // While the job's workflow lives, the request cannot be declined.
    const refused = await t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, {
      body: { reason: 'legal_claims' },
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(problemOf(refused).code).toBe('ERASURE_RUNNING');
    return { request, job };
  }

  /** The request workflow's history: activities it scheduled and signals it received. */
  async function trackerSteps(workflowId: string) {
    const history = await t.temporal.workflow.getHandle(workflowId).fetchHistory();
    return {
      activities: history.events!.flatMap(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
      ),
      signals: history.events!.flatMap((e) => e.workflowExecutionSignaledEventAttributes ?? []),
      markers: history.events!.flatMap((e) => e.markerRecordedEventAttributes?.markerName ?? []),
    };
  }

  const erasureFailedNotices = (requestId: string) =>
    t.db
      .select({ jobId: notifications.jobId })
      .from(notifications)
      .where(
        and(
          eq(notifications.gdprRequestId, requestId),
          eq(notifications.userId, t.adminId),
          eq(notifications.kind, 'gdpr_erasure_failed'),
        ),
      );

  it('learns by signal when the reconciler settles the job, alerts, and can then be declined', async () => {
    const { request, job } = await requestFollowingIdleErasure();
    await t.temporal.workflow.getHandle(job.workflowId).terminate('test: terminate in UI');
    expect((await reconcile([job.id])).settled).toEqual([
      { jobId: job.id, status: 'failed', code: 'WORKFLOW_TERMINATED' },
    ]);

    expect(
      await eventually(async () => {
        const found = await erasureFailedNotices(request.id);
        return found.length > 0 ? found : undefined;
      }),
    ).toEqual([{ jobId: job.id }]);
    const steps = await trackerSteps(request.workflowId);
    expect(steps.activities).not.toContain('awaitErasureJob');
    expect(steps.activities).toContain('checkErasureJob');
    expect(steps.signals.map((s) => s.signalName)).toContain('erasureEnded');

    const declined = await t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, {
      body: { reason: 'legal_claims' },
    });
    expect(declined.statusCode, declined.body).toBe(200);
    expect(declined.json<Request>().status).toBe('declined');
    expect(await t.temporal.workflow.getHandle(request.workflowId).result()).toMatchObject({
      status: 'declined',
    });
    expect(await finishedNotices(job.id)).toHaveLength(1);
  });

  it('is declined at once, before the reconciler has run: the dead job does not count as running', async () => {
    const { request, job } = await requestFollowingIdleErasure();
    await t.temporal.workflow.getHandle(job.workflowId).terminate('test: terminate in UI');
    const declined = await t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, {
      body: { reason: 'legal_claims' },
    });
    expect(declined.statusCode, declined.body).toBe(200);
    // The API handed the dead job to the reconciler.
    const settled = await eventually(async () => {
      const row = await jobRow(job.id);
      return row.status === 'failed' ? row : undefined;
    });
    expect(settled.error?.code).toBe('WORKFLOW_TERMINATED');
  });

  it('is not declined once the job it follows has erased the customer (the request is about to complete)', async () => {
    const customerId = await newCustomer();
    const request = await t.create<Request>('/v1/gdpr-requests', { customerId });
    const jobId = await finishedDeleteJob(t, customerId, 'completed', { customers: 1 });
    // Linked, and the request's workflow not told yet: the moment before it completes the request.
    await linkErasureJob(t.db, request.id, jobId, t.adminId);
    const refused = await t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, {
      body: { reason: 'legal_claims' },
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(problemOf(refused)).toMatchObject({ code: 'ERASURE_RUNNING', jobId });
    expect((await t.call('GET', `/v1/gdpr-requests/${request.id}`)).json<Request>().status).toBe(
      'open',
    );
  });

  it('terminated after its deletion committed: the job is settled completed and the request completes', async () => {
    const { request, job } = await requestFollowingIdleErasure();
    // The deletion's transaction commits, then the workflow is terminated before it settles the job.
    await executeDelete(t.db, job.id, { phoneRegion: t.config.phoneDefaultRegion });
    await t.temporal.workflow.getHandle(job.workflowId).terminate('test: terminate in UI');

    expect((await reconcile([job.id])).settled).toEqual([
      { jobId: job.id, status: 'completed', code: 'WORKFLOW_TERMINATED' },
    ]);
    const settled = (await t.call('GET', `/v1/jobs/${job.id}`)).json<Job>();
    expect(settled.status).toBe('completed');
    expect(settled.result).toMatchObject({ counts: { customers: 1 }, indexPending: true });
    expect(await t.temporal.workflow.getHandle(request.workflowId).result()).toMatchObject({
      status: 'completed',
    });
    const done = (await t.call('GET', `/v1/gdpr-requests/${request.id}`)).json<
      Request & { completionRecord: { jobId: string } }
    >();
    expect(done.completionRecord.jobId).toBe(job.id);
    expect(await finishedNotices(job.id)).toHaveLength(1);
  });

  it('erased again: a new job is started instead of the dead one, and the request completes by its signal', async () => {
    const { request, job } = await requestFollowingIdleErasure();
    await t.temporal.workflow.getHandle(job.workflowId).terminate('test: terminate in UI');

    const erased = await t.call('POST', `/v1/gdpr-requests/${request.id}/erase`);
    expect([200, 202], erased.body).toContain(erased.statusCode);
    const newJob = erased.json<{ job: Job }>().job;
    expect(newJob.id).not.toBe(job.id);
    expect(await t.temporal.workflow.getHandle(request.workflowId).result()).toMatchObject({
      status: 'completed',
    });
    await recordHistory(request.workflowId, 'gdpr-request-erasure-ended-signal');
    const done = (await t.call('GET', `/v1/gdpr-requests/${request.id}`)).json<
      Request & { completionRecord: { jobId: string } }
    >();
    expect(done.completionRecord.jobId).toBe(newJob.id);
    expect(await t.db.select().from(customers).where(eq(customers.id, request.customerId))).toEqual(
      [],
    );
    const dead = await eventually(async () => {
      const row = await jobRow(job.id);
      return row.status === 'failed' ? row : undefined;
    });
    expect(dead.error?.code).toBe('WORKFLOW_TERMINATED');

    const steps = await trackerSteps(request.workflowId);
    expect(steps.activities).not.toContain('awaitErasureJob');
    const ended = steps.signals
      .filter((s) => s.signalName === 'erasureEnded')
      .map((s) => JSON.parse(Buffer.from(s.input!.payloads![0]!.data!).toString()) as object);
    expect(ended).toEqual(
      expect.arrayContaining([expect.objectContaining({ jobId: newJob.id, status: 'completed' })]),
    );
  });
});
