import {
  ActivityFailure,
  CancellationScope,
  patched,
  proxyActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { searchAttributes, type DeleteJobInput, type JobOutcome } from './contracts';
import type { Activities } from '../activities';
import { failureOf } from './refusals';
import { awaitIndex, endOfJob, notifyStarter, settleJob } from './job-endings';
import { retries } from './retry-policies';

const { executeDelete, analyzeErasedTables } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retries.transient,
});

/** Since this patch a deletion keeps CustodianJobStatus current, as every other job does. */
const STATUS_PATCH = 'delete-object-status';

/**
 * Since this patch the tables a deletion touched are analysed after its job
 * has settled, so the request's answer does not wait for ANALYZE.
 */
const ANALYZE_PATCH = 'delete-object-analyze-after-settle';

/**
 * Deletes a customer, conversation or KObject, confirmed by its request, and
 * every copy of its data. The deletion is one transaction: a cancellation
 * requested in Temporal UI lets it finish and the job still settles.
 */
export async function deleteObjectWorkflow(input: DeleteJobInput): Promise<JobOutcome> {
  return endOfJob(await CancellationScope.nonCancellable(() => deleteObject(input)));
}

async function deleteObject(input: DeleteJobInput): Promise<JobOutcome> {
  const { jobId } = input;
  const tracksStatus = patched(STATUS_PATCH);
  const status = (value: string) => {
    if (tracksStatus) upsertSearchAttributes([{ key: searchAttributes.jobStatus, value }]);
  };
  status('running');
  let executed;
  try {
    executed = await executeDelete(jobId);
  } catch (error) {
    const failure = failureOf(error, 'delete');
    if (!failure) throw error;
    await settleJob(jobId, 'failed', failure);
    status('failed');
    await notifyStarter(input, 'failed');
    return { status: 'failed', code: failure.code };
  }
  const indexPending = await awaitIndex(executed.outboxUpTo);
  await settleJob(jobId, 'completed', undefined, { indexPending });
  status('completed');
  // Another job deleted the object first and told its own starter: one notice per object.
  if (!executed.counts.alreadyDeleted) await notifyStarter(input, 'completed');
  if (executed.committedAt !== undefined && patched(ANALYZE_PATCH)) {
    try {
      await analyzeErasedTables(executed.counts, executed.committedAt);
    } catch (error) {
      // Statistics catch up at the next ANALYZE (autovacuum's, or the next erasure's).
      if (!(error instanceof ActivityFailure)) throw error;
    }
  }
  return { status: 'completed', counts: executed.counts, indexPending };
}
