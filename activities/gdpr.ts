import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { finishedStatuses, findJob } from '../db/queries/job-rows';
import { awaitingReceipts, erasureReceiptsOf } from '../db/queries/erasure-receipts';
import { findGdprRequest } from '../db/queries/gdpr';
import {
  accessRequestsClosedBy,
  completeGdprRequest,
  exportJobsOfRequests,
  markGdprRequestOverdue,
  requestsConcernedBy,
} from '../operations/gdpr-requests';
import { erasureProgressOf } from '../operations/erasure-jobs';
import {
  erasureEndedSignal,
  exportRequestClosedSignal,
  gdprRequestDeclinedSignal,
  gdprWorkflowIds,
  jobWorkflowId,
  type ErasureOutcome,
  type GdprRequestState,
} from '../workflows/contracts';
import type { ActivityDeps } from './index';

/** Where a request's erasure stands, looked at once. */
export type ErasureCheck = ErasureOutcome | { status: 'running' };

/**
 * Tells every pending request a deletion job's end concerns (it follows the
 * job, or the job erases its customer) that the job has ended: the request's
 * workflow learns it by this signal instead of polling. Nothing while the job
 * is not final. Safe to repeat: a request's workflow looks at the rows again
 * for each signal. A request whose workflow has gone is no one to tell.
 */
export async function tellGdprRequests(
  { db, temporal }: Pick<ActivityDeps, 'db' | 'temporal'>,
  jobId: string,
): Promise<number> {
  const job = await findJob(db, jobId);
  if (!job || !finishedStatuses.includes(job.status)) return 0;
  if (job.type !== 'delete' && job.type !== 'bulk_delete') return 0;
  const requestIds = await requestsConcernedBy(db, jobId);
  const ended = {
    jobId,
    status: job.status,
    ...(job.error?.code ? { code: job.error.code } : {}),
  };
  const tell = async (requestId: string, send: (handle: WorkflowHandle) => Promise<void>) => {
    try {
      await send(temporal.workflow.getHandle(gdprWorkflowIds.request(requestId)));
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  };
  for (const requestId of requestIds) {
    await tell(requestId, (handle) => handle.signal(erasureEndedSignal, ended));
  }
  // Access requests the erasure closed (operations/gdpr-requests.ts closeAccessRequestsOf) end too.
  const closed = await accessRequestsClosedBy(db, jobId);
  for (const requestId of closed) {
    await tell(requestId, (handle) => handle.signal(gdprRequestDeclinedSignal));
  }
  // Their exports' archives went with the customer; the exports' workflows stop waiting too.
  for (const exportJobId of await exportJobsOfRequests(db, closed)) {
    try {
      await temporal.workflow
        .getHandle(jobWorkflowId('export', exportJobId))
        .signal(exportRequestClosedSignal);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  return requestIds.length + closed.length;
}

const POLL_MS = 1000;

/** A retryable refusal: the erasure's receipts are not all in (a class name, never data). */
class ErasureReceiptsPending extends Error {
  override name = 'ErasureReceiptsPending';
}

async function assertReceiptsSettled(db: ActivityDeps['db'], requestId: string): Promise<void> {
  const request = await findGdprRequest(db, requestId);
  if (!request || request.type !== 'erasure' || request.status === 'completed') return;
  if (awaitingReceipts(await erasureReceiptsOf(db, request.customerId))) {
    throw new ErasureReceiptsPending('Some subscribed systems have not acknowledged the erasure.');
  }
}

export function gdprActivities({ db, config }: ActivityDeps) {
  return {
    /**
     * Where the erasure of a request's customer by this job stands: completed
     * (by this job, or by the deletion that won a race to the customer),
     * failed with a code, or still running. One look; the request's workflow
     * looks again when it is told that a job concerning it has ended.
     */
    async checkErasureJob(jobId: string, requestId: string): Promise<ErasureCheck> {
      const request = await findGdprRequest(db, requestId);
      if (!request) return { status: 'failed', code: 'REQUEST_NOT_FOUND' };
      const progress = await erasureProgressOf(db, jobId, request.customerId);
      if (progress.status === 'completed') return { status: 'completed' };
      return progress;
    },

    /**
     * Marks an open request overdue and answers its status then (IDs and
     * statuses only). With `dueAt` (the deadline the workflow reached), a
     * request whose clock was since stopped or moved later is left open.
     */
    async markGdprRequestOverdue(
      requestId: string,
      dueAt?: string,
    ): Promise<{ status: GdprRequestState }> {
      await markGdprRequestOverdue(db, requestId, dueAt ? new Date(dueAt) : undefined);
      const row = await findGdprRequest(db, requestId);
      return { status: row?.status ?? 'declined' };
    },

    /**
     * Completes a request from its finished erasure job at `completedAt` (the
     * workflow's clock). With WEBHOOK_ERASURE_ACKS_REQUIRED, not before every
     * subscribed system acknowledged the erasure or was given up on: until
     * then it fails retryably, and Temporal tries again.
     */
    async completeGdprRequest(
      requestId: string,
      jobId: string,
      completedAt: string,
    ): Promise<{ status: GdprRequestState }> {
      if (config.webhooks.erasureAcksRequired) await assertReceiptsSettled(db, requestId);
      const row = await completeGdprRequest(db, requestId, jobId, new Date(completedAt));
      return { status: row.status };
    },

    /**
     * Waits, heartbeating, until an erasure job has erased the request's
     * customer (a bulk erasure: that customer's item) or failed, and says
     * how. A retried attempt simply looks at the rows again. Histories from
     * before `requestId` was passed follow the customer the job deletes.
     */
    async awaitErasureJob(jobId: string, requestId?: string): Promise<ErasureOutcome> {
      const context = Context.current();
      const customerId = requestId
        ? (await findGdprRequest(db, requestId))?.customerId
        : ((await findJob(db, jobId))?.params as { id?: string } | undefined)?.id;
      if (!customerId) return { status: 'failed', code: 'JOB_NOT_FOUND' };
      for (;;) {
        const progress = await erasureProgressOf(db, jobId, customerId);
        if (progress.status === 'completed') return { status: 'completed' };
        if (progress.status === 'failed') return progress;
        context.heartbeat();
        await context.sleep(POLL_MS);
      }
    },
  };
}
