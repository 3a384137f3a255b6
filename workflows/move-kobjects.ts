import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { runConfirmableJob } from './confirmable-job';
import type { ConfirmableJobInput, JobOutcome } from './contracts';
import { reindexTouched } from './reindex';

const quick = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' });
const { executeKObjectMove } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
});

/** Moves KObjects to another customer; their pins go with them. */
export async function moveKObjectsWorkflow(input: ConfirmableJobInput): Promise<JobOutcome> {
  return runConfirmableJob(input, {
    prepare: (expiresAt) => quick.prepareKObjectMove(input.jobId, expiresAt),
    async execute(confirmedBy) {
      const moved = await executeKObjectMove(input.jobId, confirmedBy);
      await reindexTouched(moved);
      return moved.counts;
    },
    settle: (status, error) => quick.settleJob(input.jobId, status, error),
  });
}
