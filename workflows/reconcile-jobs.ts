import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ReconcileJobsInput, ReconcileJobsResult } from './contracts';
import { notify } from './notify';
import { retries } from './steps';

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
  for (const { jobId, code } of abandoned) {
    const { status, notify: tell } = await settleAbandonedJob(jobId, code);
    if (!tell) continue;
    settled.push({ jobId, status, code });
    await notify({ kind: 'job_finished', jobId, status });
  }
  return { checked, settled };
}
