import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  cancelBulkJobSignal,
  searchAttributes,
  type BulkDeleteInput,
  type JobOutcome,
} from './contracts';
import { failureOf } from './refusals';
import { awaitIndex, notifyStarter, retries, settleJob } from './steps';

const { selectBulkItems, deleteBulkBatch, skipRemainingItems } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: retries.transient,
});

/** Batches per run before the history is handed to a fresh run. */
const BATCHES_PER_RUN = 200;

/**
 * Erases a fixed selection of customers, conversations or KObjects in
 * batches. Postgres holds the cursor (each object's status), so the workflow
 * only loops: it survives worker crashes, server restarts and outages, and
 * hands its history over with continue-as-new before it grows large.
 */
export async function bulkDeleteWorkflow(input: BulkDeleteInput): Promise<JobOutcome> {
  const { jobId } = input;
  let cancelled = input.cancelled ?? false;
  setHandler(cancelBulkJobSignal, () => {
    cancelled = true;
  });

  const fail = async (error: unknown, step: string): Promise<JobOutcome> => {
    const failure = failureOf(error, step);
    if (!failure) throw error;
    await settleJob(jobId, 'failed', failure);
    upsertSearchAttributes([{ key: searchAttributes.jobStatus, value: 'failed' }]);
    await notifyStarter(input, 'failed', { always: true });
    return { status: 'failed', code: failure.code };
  };

  if (!input.selected) {
    try {
      const total = await selectBulkItems(jobId);
      upsertSearchAttributes([
        { key: searchAttributes.jobStatus, value: 'running' },
        { key: searchAttributes.itemsTotal, value: total },
      ]);
    } catch (error) {
      return fail(error, 'selection');
    }
  }

  let outboxUpTo = 0;
  let counts = { total: 0, done: 0, failed: 0 };
  for (let batch = 0; ; batch++) {
    if (cancelled) {
      await skipRemainingItems(jobId);
      await settleJob(jobId, 'cancelled');
      upsertSearchAttributes([{ key: searchAttributes.jobStatus, value: 'cancelled' }]);
      await notifyStarter(input, 'cancelled', { always: true });
      return { status: 'cancelled' };
    }
    let progress;
    try {
      progress = await deleteBulkBatch(jobId);
    } catch (error) {
      return fail(error, 'delete');
    }
    outboxUpTo = progress.outboxUpTo;
    counts = { total: progress.total, done: progress.done, failed: progress.failed };
    upsertSearchAttributes([
      { key: searchAttributes.itemsDone, value: progress.done },
      { key: searchAttributes.itemsFailed, value: progress.failed },
    ]);
    setCurrentDetails(
      `${progress.done + progress.failed} of ${progress.total} handled: ` +
        `${progress.done} deleted, ${progress.failed} failed`,
    );
    if (progress.remaining === 0) break;
    // Every object left is held by another job: give it a moment before trying again.
    if (progress.handled === 0 && progress.busy > 0) await sleep('2 seconds');
    if (batch + 1 >= BATCHES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof bulkDeleteWorkflow>({ ...input, selected: true, cancelled });
    }
  }

  const indexPending = await awaitIndex(outboxUpTo);
  await settleJob(jobId, 'completed', undefined, { indexPending });
  upsertSearchAttributes([{ key: searchAttributes.jobStatus, value: 'completed' }]);
  await notifyStarter(input, 'completed', { always: true });
  return { status: 'completed', counts, indexPending };
}
