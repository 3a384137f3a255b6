import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { runConfirmableJob } from './confirmable-job';
import type { ConfirmableJobInput, JobOutcome } from './contracts';

const quick = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' });
const { executeMerge } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // The merge heartbeats while its transaction runs: a worker that dies is noticed in seconds.
  heartbeatTimeout: '5 seconds',
});

const INDEX_BATCH = 500;

/** Merges one customer into another: preview, wait for confirmation, merge, bring the index up to date. */
export async function mergeCustomersWorkflow(input: ConfirmableJobInput): Promise<JobOutcome> {
  return runConfirmableJob(input, {
    prepare: (expiresAt) => quick.prepareMerge(input.jobId, expiresAt),
    async execute(confirmedBy) {
      const merged = await executeMerge(input.jobId, confirmedBy);
      const { conversationIds, kobjectIds, counts } = merged;
      await quick.removeSearchDocuments('customer', [merged.sourceCustomerId]);
      await quick.upsertSearchDocuments('customer', [merged.targetCustomerId]);
      for (let i = 0; i < conversationIds.length; i += INDEX_BATCH) {
        await quick.upsertSearchDocuments(
          'conversation',
          conversationIds.slice(i, i + INDEX_BATCH),
        );
      }
      for (let i = 0; i < kobjectIds.length; i += INDEX_BATCH) {
        await quick.upsertSearchDocuments('kobject', kobjectIds.slice(i, i + INDEX_BATCH));
      }
      return counts;
    },
    settle: (status, error) => quick.settleJob(input.jobId, status, error),
  });
}
