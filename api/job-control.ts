/**
 * Starting and steering jobs from the API: one job row, one workflow, the
 * same confirm / cancel behaviour for every previewed job, and one answer per
 * state of the job.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  claimOutcomeTelling,
  createJob,
  finishedStatuses,
  getJob,
  transitionJob,
  type JobRow,
  type JobStatus,
  type JobType,
} from '../db/queries/job-rows';
import { DomainError, isDomainErrorKind, notFound } from '../lib/errors';
import { assertPreviewedCount } from '../operations/bulk-delete';
import { confirmableOperations } from '../operations';
import { temporalUiLink } from '../lib/temporal';
import {
  cancelJobSignal,
  confirmBulkDeleteUpdate,
  confirmJobUpdate,
  jobWorkflowId,
  jobWorkflows,
  MAX_SEARCHABLE_CUSTOMERS,
  searchAttributes,
  type ConfirmableJobType,
  type JobOutcome,
  type WorkflowJobType,
} from '../workflows/contracts';
import type { AuthUser } from './plugins/auth';
import { reconcileJobsNow } from './reconcile';

export function jobView(app: FastifyInstance, job: JobRow) {
  const { fingerprint: _fingerprint, ...preview } = job.preview ?? {};
  const result = job.result;
  const settings = app.config.temporal;
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    startedBy: job.startedBy,
    params: job.params,
    preview: job.preview ? preview : null,
    progress: { total: job.progressTotal, done: job.progressDone, failed: job.progressFailed },
    result: result
      ? {
          counts: (result.counts as Record<string, number> | undefined) ?? {},
          indexPending: result.indexPending === true,
        }
      : null,
    error: job.error ? { code: job.error.code, message: job.error.message } : null,
    workflowId: job.workflowId,
    temporalUiUrl: temporalUiLink(settings.uiUrl, settings.namespace, job.workflowId),
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    expiresAt: job.expiresAt?.toISOString() ?? null,
    completedAt: job.completedAt?.toISOString() ?? null,
  };
}

/**
 * Re-reads until `done` says so or the reply wait (JOB_REPLY_WAIT) is over,
 * and returns the last value read: a request waits briefly, then answers 202.
 */
export async function pollUntil<T>(
  app: FastifyInstance,
  load: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + app.config.jobReplyWaitMs;
  // Most jobs are ready within tens of milliseconds: look soon, then every 50 ms.
  for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
    // Only a read begun after the deadline may end the wait unfinished: a job
    // that ended before the deadline is then always seen, and one that was not
    // seen outlived the wait, which is when its workflow tells it by notice.
    const last = Date.now() > deadline;
    const value = await load();
    if (done(value) || last) return value;
    await sleep(pause);
  }
}

export const waitForJob = (
  app: FastifyInstance,
  jobId: string,
  done: (status: JobStatus) => boolean,
) =>
  pollUntil(
    app,
    () => getJob(app.db, jobId),
    (job) => done(job.status),
  );

export const isFinished = (status: JobStatus) => finishedStatuses.includes(status);

/**
 * Whether this reply tells how the job ended: it has ended, and no notice has
 * told it first (the row decides; `claimOutcomeTelling`). A reply that may not
 * tell it answers as for a job still running (202): the notice was the answer.
 */
export async function replyTells(app: FastifyInstance, job: JobRow): Promise<boolean> {
  return isFinished(job.status) && (await claimOutcomeTelling(app.db, job.id, 'reply'));
}

const notAwaiting = (job: JobRow) =>
  new DomainError(
    'conflict',
    'JOB_NOT_AWAITING_CONFIRMATION',
    `The job is ${job.status}; only a job awaiting confirmation can be confirmed or cancelled.`,
    { jobId: job.id, jobStatus: job.status },
  );

/** A job that ended without completing, as the refusal the caller receives. */
export function refusalOfJob(job: JobRow): DomainError {
  if (job.status === 'expired' || job.status === 'cancelled') return notAwaiting(job);
  const kind = job.error?.kind;
  return new DomainError(
    isDomainErrorKind(kind) ? kind : job.status === 'failed' ? 'conflict' : 'unprocessable',
    job.error?.code ?? 'JOB_FAILED',
    job.error?.message ?? `The job ended ${job.status}.`,
    { jobId: job.id, jobStatus: job.status },
  );
}

/** A job touching more customers lists them in `jobCustomersWorkflow` parts instead. */
const searchableCustomerIds = (ids: string[]) =>
  ids.length <= MAX_SEARCHABLE_CUSTOMERS ? ids : [];

export interface StartJobRequest {
  type: WorkflowJobType;
  user: AuthUser;
  params: Record<string, unknown>;
  /** The workflow's argument besides the job ID: IDs, counts and settings only. */
  input?: Record<string, unknown>;
  customerIds: string[];
  summary: string;
  idempotencyKey?: string | undefined;
}

/**
 * Creates the job (or finds the one with the same Idempotency-Key) and starts
 * its workflow; a retried request finds its workflow already running.
 */
export async function startJob(app: FastifyInstance, request: StartJobRequest): Promise<JobRow> {
  const id = randomUUID();
  const { job } = await createJob(app.db, {
    id,
    type: request.type,
    startedBy: request.user.id,
    params: request.params,
    workflowId: jobWorkflowId(request.type, id),
    idempotencyKey: request.idempotencyKey,
  });
  return startJobWorkflow(app, job, request);
}

/**
 * Starts the workflow of a job row already written (by `startJob`, or by an
 * operation that decides under a lock which job to use); nothing when the job
 * is no longer pending or its workflow already runs.
 */
export async function startJobWorkflow(
  app: FastifyInstance,
  job: JobRow,
  request: StartJobRequest,
): Promise<JobRow> {
  if (job.status === 'pending') {
    try {
      await app.temporal.workflow.start(jobWorkflows[request.type].workflowType, {
        taskQueue: app.config.temporal.taskQueue,
        workflowId: job.workflowId,
        args: [
          {
            jobId: job.id,
            type: request.type,
            replyWaitMs: app.config.jobReplyWaitMs,
            ...request.input,
          },
        ],
        staticSummary: request.summary,
        typedSearchAttributes: [
          { key: searchAttributes.jobType, value: request.type },
          { key: searchAttributes.jobId, value: job.id },
          { key: searchAttributes.jobStatus, value: 'pending' },
          { key: searchAttributes.customerIds, value: searchableCustomerIds(request.customerIds) },
          { key: searchAttributes.startedBy, value: request.user.id },
        ],
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return job;
      // Without a key to retry with, a job whose workflow never started would wait for ever.
      if (!request.idempotencyKey) {
        await transitionJob(app.db, job.id, ['pending'], 'failed', {
          error: { code: 'WORKFLOW_NOT_STARTED', message: 'The job could not be started.' },
        });
      }
      throw error;
    }
  }
  return job;
}

/**
 * Starts a previewed job, then makes its preview in the request's own
 * transaction: the workflow's preview step, finding the job no longer
 * pending, takes it from the row — whichever locks the job first makes the
 * preview, once. The request so waits for no workflow task. The workflow is
 * started first, so a job is previewed only once its workflow exists (a start
 * that failed leaves it pending, for a retry with the same Idempotency-Key).
 * If the request's attempt fails (say Postgres blips), the workflow's step,
 * with its retries, makes the preview and the request waits briefly for it.
 * Returns the job as it then is.
 */
export async function startConfirmableJob(
  app: FastifyInstance,
  request: StartJobRequest & { type: ConfirmableJobType },
): Promise<JobRow> {
  const job = await startJob(app, {
    ...request,
    input: { confirmTtlMs: app.config.confirmTtlMs },
  });
  if (job.status === 'pending') {
    const expiresAt = new Date(Date.now() + app.config.confirmTtlMs);
    await confirmableOperations[request.type]
      .prepare(app.db, job.id, expiresAt)
      .catch(() => undefined /* left to the workflow's preview step */);
  }
  const current = await waitForJob(app, job.id, (status) => status !== 'pending');
  if (
    (current.status === 'rejected' || current.status === 'failed') &&
    (await replyTells(app, current))
  )
    throw refusalOfJob(current);
  return current;
}

/**
 * The job of this type, if the caller may see it: its starter and admins
 * may; anyone else is told it does not exist.
 */
export async function findOwnJob(
  app: FastifyInstance,
  user: AuthUser,
  jobId: string,
  type?: JobType,
): Promise<JobRow> {
  const job = await getJob(app.db, jobId);
  if ((type && job.type !== type) || (!user.isAdmin && job.startedBy !== user.id))
    throw notFound('Job', jobId);
  return job;
}

/**
 * Confirms a job through its workflow's update and waits a few seconds for the
 * outcome: the finished job, or the running one (`finished: false`).
 */
export async function confirmJob(
  app: FastifyInstance,
  job: JobRow,
  userId: string,
): Promise<{ job: JobRow; finished: boolean }> {
  // A pending job's workflow takes the confirmation and applies it once its preview is ready.
  if (job.status !== 'awaiting_confirmation' && job.status !== 'pending') throw notAwaiting(job);
  const handle = app.temporal.workflow.getHandle(job.workflowId);
  let outcome: JobOutcome | undefined;
  try {
    const update = await handle.startUpdate(confirmJobUpdate, {
      args: [{ confirmedBy: userId }],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    outcome = await Promise.race([update.result(), sleep(app.config.jobReplyWaitMs, undefined)]);
  } catch (error) {
    // Refused by the workflow, or it closed first (another confirm or cancel won): say how it ended.
    if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError)
      throw notAwaiting(await getJob(app.db, job.id));
    throw error;
  }
  // The workflow settles the row before it answers the update, so the row tells the outcome.
  const current = outcome
    ? await waitForJob(app, job.id, isFinished)
    : await getJob(app.db, job.id);
  if (!(await replyTells(app, current))) return { job: current, finished: false };
  if (current.status !== 'completed') throw refusalOfJob(current);
  return { job: current, finished: true };
}

/**
 * Confirms a previewed bulk erasure with the count its preview showed and
 * answers once it runs: the job goes on in the background.
 */
export async function confirmBulkJob(
  app: FastifyInstance,
  job: JobRow,
  userId: string,
  count: number,
): Promise<JobRow> {
  // The selection was previewed before a confirmation is taken: a pending job has no count yet.
  if (job.status === 'pending')
    job = await waitForJob(app, job.id, (status) => status !== 'pending');
  if (job.status !== 'awaiting_confirmation') throw notAwaiting(job);
  assertPreviewedCount(job, count);
  try {
    await app.temporal.workflow
      .getHandle(job.workflowId)
      .executeUpdate(confirmBulkDeleteUpdate, { args: [{ confirmedBy: userId, count }] });
  } catch (error) {
    // Refused by the workflow, or it closed first (a cancel or the expiry won): say how it ended.
    if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError)
      throw notAwaiting(await getJob(app.db, job.id));
    throw error;
  }
  // It runs in the background: the answer is the running job (the update returns once it runs).
  const current = await getJob(app.db, job.id);
  if (isFinished(current.status) && current.status !== 'completed') throw refusalOfJob(current);
  return current;
}

/**
 * Sends a job's workflow a cancel signal. A workflow that has closed since the
 * job row was read (it ended, or an admin terminated it) is no error: the
 * caller answers from the job row.
 */
export async function signalCancel(
  app: FastifyInstance,
  job: JobRow,
  signal: SignalDefinition<[]>,
): Promise<void> {
  try {
    await app.temporal.workflow.getHandle(job.workflowId).signal(signal);
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
    // Closed without settling its job (terminated in Temporal UI): settled now, not in a minute.
    if (!isFinished(job.status)) await reconcileJobsNow(app, [job.id]);
  }
}

export async function cancelJob(app: FastifyInstance, job: JobRow): Promise<JobRow> {
  if (job.status !== 'awaiting_confirmation' && job.status !== 'pending') throw notAwaiting(job);
  await signalCancel(app, job, cancelJobSignal);
  const current = await waitForJob(app, job.id, isFinished);
  if (isFinished(current.status) && current.status !== 'cancelled') throw notAwaiting(current);
  return current;
}
