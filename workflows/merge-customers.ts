import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { runConfirmableJob } from './confirmable-job';
import type { ConfirmableJobInput, JobOutcome } from './contracts';
import { reindexTouched } from './reindex';

const quick = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' });
const { executeMerge } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // The merge heartbeats while its transaction runs: a worker that dies is noticed in seconds.
  heartbeatTimeout: '5 seconds',
});

/** Merges one customer into another: preview, wait for confirmation, merge, bring the index up to date. */
export async function mergeCustomersWorkflow(input: ConfirmableJobInput): Promise<JobOutcome> {
  return runConfirmableJob(input, {
    prepare: (expiresAt) => quick.prepareMerge(input.jobId, expiresAt),
    async execute(confirmedBy) {
      const merged = await executeMerge(input.jobId, confirmedBy);
      await reindexTouched({
        ...merged,
        customerIds: [merged.sourceCustomerId, merged.targetCustomerId],
      });
      return merged.counts;
    },
    settle: (status, error) => quick.settleJob(input.jobId, status, error),
  });
}
