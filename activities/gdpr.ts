import { Context } from '@temporalio/activity';
import { findJob } from '../db/queries/jobs';
import { findGdprRequest } from '../db/queries/gdpr';
import {
  completeGdprRequest,
  erasureProgressOf,
  markGdprRequestOverdue,
} from '../operations/gdpr-requests';
import type { ErasureOutcome, GdprRequestState } from '../workflows/contracts';
import type { ActivityDeps } from './index';

const POLL_MS = 1000;

export function gdprActivities({ db }: ActivityDeps) {
  return {
    /** Marks an open request overdue and answers its status then (IDs and statuses only). */
    async markGdprRequestOverdue(requestId: string): Promise<{ status: GdprRequestState }> {
      await markGdprRequestOverdue(db, requestId);
      const row = await findGdprRequest(db, requestId);
      return { status: row?.status ?? 'declined' };
    },

    /** Completes a request from its finished erasure job at `completedAt` (the workflow's clock). */
    async completeGdprRequest(
      requestId: string,
      jobId: string,
      completedAt: string,
    ): Promise<{ status: GdprRequestState }> {
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
