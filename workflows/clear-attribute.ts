import {
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { searchAttributes, type ClearAttributeInput, type JobOutcome } from './contracts';
import { failureOf } from './refusals';
import { awaitIndex, endOfJob, notifyStarter, settleJob } from './job-endings';
import { retries } from './retry-policies';

const { startAttributeClearing, clearAttributeBatch, finishAttributeClearing } =
  proxyActivities<Activities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '10 seconds',
    retry: retries.transient,
  });

/** Batches per run before the history is handed to a fresh run. */
const BATCHES_PER_RUN = 200;

/**
 * Clears a removed attribute from every customer or company that holds it,
 * in batches in ID order, then removes its definition. The cursor (a row ID)
 * travels through continue-as-new; each batch is one transaction that skips
 * rows already cleared, so a retried or resumed batch does no harm. A pass
 * that ends with values left behind its cursor (a merge moved one there)
 * starts over from the first row.
 */
export async function clearAttributeWorkflow(input: ClearAttributeInput): Promise<JobOutcome> {
  const { jobId } = input;
  const status = (value: string) =>
    upsertSearchAttributes([{ key: searchAttributes.jobStatus, value }]);
  let after = input.after ?? null;
  let outboxUpTo = input.outboxUpTo ?? 0;
  let done = 0;
  try {
    if (!input.started) {
      const { total } = await startAttributeClearing(jobId);
      upsertSearchAttributes([
        { key: searchAttributes.jobStatus, value: 'running' },
        { key: searchAttributes.itemsTotal, value: total },
      ]);
    }
    for (let batch = 0; ; batch++) {
      const cleared = await clearAttributeBatch(jobId, after, input.batchSize);
      outboxUpTo = Math.max(outboxUpTo, cleared.outboxUpTo);
      done = cleared.done;
      upsertSearchAttributes([{ key: searchAttributes.itemsDone, value: done }]);
      setCurrentDetails(`${done} values cleared`);
      if (cleared.last === null && cleared.remaining === 0) break;
      after = cleared.last;
      if (
        batch + 1 >= (input.batchesPerRun ?? BATCHES_PER_RUN) ||
        workflowInfo().continueAsNewSuggested
      ) {
        return continueAsNew<typeof clearAttributeWorkflow>({
          ...input,
          started: true,
          after,
          outboxUpTo,
        });
      }
    }
    await finishAttributeClearing(jobId);
  } catch (error) {
    const failure = failureOf(error, 'clear');
    if (!failure) throw error;
    await settleJob(jobId, 'failed', failure);
    status('failed');
    await notifyStarter(input, 'failed', { always: true });
    return endOfJob({ status: 'failed', code: failure.code });
  }
  const indexPending = await awaitIndex(outboxUpTo);
  await settleJob(jobId, 'completed', undefined, { indexPending });
  status('completed');
  await notifyStarter(input, 'completed', { always: true });
  return { status: 'completed', counts: { cleared: done }, indexPending };
}
