import { Context } from '@temporalio/activity';
import { findJob } from '../db/queries/jobs';
import { findGdprRequest } from '../db/queries/gdpr';
import { completeGdprRequest, markGdprRequestOverdue } from '../operations/gdpr-requests';
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
     * Waits, heartbeating, until an erasure job has finished, and says how. A
     * retried attempt simply looks at the job row again.
     */
    async awaitErasureJob(jobId: string): Promise<ErasureOutcome> {
      const context = Context.current();
      for (;;) {
        const job = await findJob(db, jobId);
        if (!job) return { status: 'failed', code: 'JOB_NOT_FOUND' };
        if (job.status === 'completed') return { status: 'completed' };
        if (!['pending', 'running', 'awaiting_confirmation'].includes(job.status)) {
          return { status: 'failed', code: job.error?.code ?? job.status.toUpperCase() };
        }
        context.heartbeat();
        await context.sleep(POLL_MS);
      }
    },
  };
}
