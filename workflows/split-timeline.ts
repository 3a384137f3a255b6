import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { runConfirmableJob } from './confirmable-job';
import type { ConfirmableJobInput, JobOutcome } from './contracts';
import { reindexTouched } from './reindex';

const quick = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' });
const { executeSplit } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
});

/** Moves selected conversations (only conversations) from one customer to another. */
export async function splitTimelineWorkflow(input: ConfirmableJobInput): Promise<JobOutcome> {
  return runConfirmableJob(input, {
    prepare: (expiresAt) => quick.prepareSplit(input.jobId, expiresAt),
    async execute(confirmedBy) {
      const moved = await executeSplit(input.jobId, confirmedBy);
      await reindexTouched(moved);
      return moved.counts;
    },
    settle: (status, error) => quick.settleJob(input.jobId, status, error),
  });
}
