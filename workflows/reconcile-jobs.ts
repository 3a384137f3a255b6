import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ReconcileJobsInput, ReconcileJobsResult } from './contracts';
import { notify } from './notify';
import {} from './job-endings';
import { retries } from './retry-policies';

const { findAbandonedJobs } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: retries.transient,
});

// Settling is what frees the people waiting on the job: it retries until Postgres takes it.
const { settleAbandonedJob } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: retries.untilDone,
});

/** Jobs settled (and their starters told) at once: each is two round trips through the server. */
const SETTLE_CONCURRENCY = 10;

/**
 * Compares the open jobs with their workflows and settles each job whose
 * workflow ended without settling it (terminated, timed out, failed,
 * cancelled, or gone) with a stable code, tells its starter, and frees the
 * GDPR requests following it. Run every minute by a Temporal Schedule, and
 * by the API for a job it finds abandoned.
 */
export async function reconcileJobsWorkflow(
  input: ReconcileJobsInput = {},
): Promise<ReconcileJobsResult> {
  const { checked, abandoned } = await findAbandonedJobs(input.jobIds);
  const settled: ReconcileJobsResult['settled'] = [];
  for (let i = 0; i < abandoned.length; i += SETTLE_CONCURRENCY) {
    const outcomes = await Promise.all(
      abandoned.slice(i, i + SETTLE_CONCURRENCY).map(async ({ jobId, code }) => {
        const { status, notify: tell } = await settleAbandonedJob(jobId, code);
        if (!tell) return undefined;
        // A request waiting for the job may have answered with this outcome already.
        await notify({ kind: 'job_finished', jobId, status, unlessReplied: true });
        return { jobId, status, code };
      }),
    );
    for (const outcome of outcomes) if (outcome) settled.push(outcome);
  }
  return { checked, settled };
}
