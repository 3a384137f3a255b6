/**
 * Settling a job whose workflow ended without settling it: terminated or
 * timed out in Temporal, cancelled by a code that did not handle it, or never
 * started. The job takes a final state with a stable code, so nothing waits
 * for it for ever.
 */
import { sql } from 'drizzle-orm';
import type { Queryable } from '../db/client';
import {
  finishedStatuses,
  transitionJob,
  unfinishedStatuses,
  type JobStatus,
} from '../db/queries/job-rows';
import { settledStatusOf } from '../lib/job-workflows';
import { skipRemainingItems } from './bulk-delete';
import { lockJob } from './job-steps';

export interface SettledJob {
  status: JobStatus;
  /** Whether the job is final because of this code (now, or by an earlier attempt of the same step). */
  byThisCode: boolean;
}

const messageOf = (code: string) =>
  code === 'WORKFLOW_NOT_FOUND'
    ? 'The job never got a workflow (it could not be started, or Temporal no longer knows it); nothing was done.'
    : `The job's workflow ended (${code}) before the job did: it stopped where it was, and what it had not reached was left untouched.`;

/**
 * Settles a job whose workflow ended with `code`. A job whose work had
 * committed (a single job's execution, a bulk job with nothing left) ends
 * completed, its index update reported pending; anything else ends failed
 * (cancelled for a cancelled workflow), a bulk job's unreached objects
 * skipped. A job already final stays as it is; repeating the step is safe.
 */
export async function settleAbandonedJob(
  db: Queryable,
  jobId: string,
  code: string,
): Promise<SettledJob> {
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    if (finishedStatuses.includes(job.status)) {
      const recorded = job.error?.code ?? (job.result?.workflowEnd as string | undefined);
      return { status: job.status, byThisCode: recorded === code };
    }
    let executed = job.status === 'running' && job.result !== null;
    if (job.type === 'bulk_delete' && executed) {
      const left = await tx.execute<{ n: string }>(
        sql`select count(*) as n from job_items where job_id = ${jobId} and status = 'pending'`,
      );
      executed = Number(left.rows[0]?.n ?? 0) === 0;
    }
    if (executed) {
      await transitionJob(tx, jobId, unfinishedStatuses, 'completed', {
        outcome: { indexPending: true, workflowEnd: code },
      });
      return { status: 'completed', byThisCode: true };
    }
    if (job.type === 'bulk_delete') await skipRemainingItems(tx, jobId);
    const status = settledStatusOf(code);
    await transitionJob(tx, jobId, unfinishedStatuses, status, {
      error: { code, message: messageOf(code) },
    });
    return { status, byThisCode: true };
  });
}
