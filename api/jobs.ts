/**
 * Starting and steering confirmable jobs (merge, split, KObject move) from the
 * API: one job row, one workflow, the same confirm / cancel behaviour for all.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createJob, getJob, type JobRow, type JobStatus, type JobType } from '../db/queries/jobs';
import { DomainError, notFound } from '../lib/errors';
import { temporalUiLink } from '../lib/temporal';
import {
  cancelJobSignal,
  confirmJobUpdate,
  jobWorkflowIds,
  searchAttributes,
  type ConfirmableJobInput,
  type ConfirmableJobType,
  type JobOutcome,
} from '../workflows/contracts';
import { HttpProblem } from './problem';

const workflowTypes: Record<ConfirmableJobType, string> = {
  merge: 'mergeCustomersWorkflow',
  split: 'splitTimelineWorkflow',
  kobject_move: 'moveKObjectsWorkflow',
};

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
    result: result ? { counts: result.counts ?? {} } : null,
    error: job.error ?? null,
    workflowId: job.workflowId,
    temporalUiUrl: temporalUiLink(settings.uiUrl, settings.namespace, job.workflowId),
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    expiresAt: job.expiresAt?.toISOString() ?? null,
    completedAt: job.completedAt?.toISOString() ?? null,
  };
}

async function waitForJob(
  app: FastifyInstance,
  jobId: string,
  done: (status: JobStatus) => boolean,
): Promise<JobRow> {
  // How long a request waits for a workflow step before answering 202 with the running job.
  const deadline = Date.now() + app.config.jobReplyWaitMs;
  for (;;) {
    const job = await getJob(app.db, jobId);
    if (done(job.status) || Date.now() > deadline) return job;
    await sleep(50);
  }
}

const statusOfRefusal: Record<string, number> = {
  CUSTOMER_NOT_FOUND: 404,
  PREVIEW_STALE: 409,
  JOB_NOT_AWAITING_CONFIRMATION: 409,
};

/** A job that ended in a refusal, as the problem the caller receives. */
export function refusalProblem(job: JobRow): HttpProblem {
  const code = job.error?.code ?? 'JOB_FAILED';
  return new HttpProblem(
    statusOfRefusal[code] ??
      (code === 'PREVIEW_STALE' || code === 'JOB_NOT_AWAITING_CONFIRMATION' ? 409 : 422),
    code,
    job.error?.message ?? `The job ended ${job.status}.`,
    { jobId: job.id, jobStatus: job.status },
  );
}

export interface StartJobRequest {
  type: ConfirmableJobType;
  userId: string;
  params: Record<string, unknown>;
  customerIds: string[];
  summary: string;
  idempotencyKey?: string | undefined;
}

/**
 * Creates the job (or finds the one with the same Idempotency-Key), starts its
 * workflow, and waits briefly for the preview. Returns the job as it then is.
 */
export async function startConfirmableJob(
  app: FastifyInstance,
  request: StartJobRequest,
): Promise<JobRow> {
  const id = randomUUID();
  const { job } = await createJob(app.db, {
    id,
    type: request.type,
    startedBy: request.userId,
    params: request.params,
    workflowId: jobWorkflowIds[request.type](id),
    idempotencyKey: request.idempotencyKey,
  });
  if (job.status === 'pending') {
    const input: ConfirmableJobInput = {
      jobId: job.id,
      type: request.type,
      confirmTtlMs: app.config.confirmTtlMs,
    };
    try {
      await app.temporal.workflow.start(workflowTypes[request.type], {
        taskQueue: app.config.temporal.taskQueue,
        workflowId: job.workflowId,
        args: [input],
        staticSummary: request.summary,
        typedSearchAttributes: [
          { key: searchAttributes.jobType, value: request.type },
          { key: searchAttributes.jobId, value: job.id },
          { key: searchAttributes.jobStatus, value: 'pending' },
          { key: searchAttributes.customerIds, value: request.customerIds },
          { key: searchAttributes.startedBy, value: request.userId },
        ],
      });
    } catch (error) {
      // A retried request (same Idempotency-Key) finds its workflow already running.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }
  return waitForJob(app, job.id, (status) => status !== 'pending');
}

export async function findJobOfType(
  app: FastifyInstance,
  jobId: string,
  type: JobType,
): Promise<JobRow> {
  const job = await getJob(app.db, jobId);
  if (job.type !== type) throw notFound('Job', jobId);
  return job;
}

const notAwaiting = (job: JobRow) =>
  new DomainError(
    'conflict',
    'JOB_NOT_AWAITING_CONFIRMATION',
    `The job is ${job.status}; only a job awaiting confirmation can be confirmed or cancelled.`,
    { jobId: job.id, jobStatus: job.status },
  );

/**
 * Confirms a job through its workflow's update and waits a few seconds for the
 * outcome: the finished job, or the running one (`finished: false`).
 */
export async function confirmJob(
  app: FastifyInstance,
  job: JobRow,
  userId: string,
): Promise<{ job: JobRow; finished: boolean }> {
  if (job.status !== 'awaiting_confirmation') throw notAwaiting(job);
  const handle = app.temporal.workflow.getHandle(job.workflowId);
  let outcome: JobOutcome | undefined;
  try {
    const update = await handle.startUpdate(confirmJobUpdate, {
      args: [{ confirmedBy: userId }],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    outcome = await Promise.race([update.result(), sleep(app.config.jobReplyWaitMs, undefined)]);
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      throw notAwaiting(await getJob(app.db, job.id));
    }
    throw error;
  }
  const current = await getJob(app.db, job.id);
  if (!outcome) return { job: current, finished: false };
  if (outcome.status !== 'completed') throw refusalProblem(current);
  return { job: current, finished: true };
}

export async function cancelJob(app: FastifyInstance, job: JobRow): Promise<JobRow> {
  if (job.status !== 'awaiting_confirmation') throw notAwaiting(job);
  await app.temporal.workflow.getHandle(job.workflowId).signal(cancelJobSignal);
  const current = await waitForJob(app, job.id, (status) => status !== 'awaiting_confirmation');
  if (current.status !== 'cancelled' && current.status !== 'awaiting_confirmation')
    throw notAwaiting(current);
  return current;
}
