import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeleteJobInput, JobOutcome } from './contracts';
import { failureOf } from './refusals';
import { awaitIndex, notifyStarter, retries, settleJob } from './steps';

const { executeDelete } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retries.transient,
});

/** Deletes a customer, conversation or KObject, confirmed by its request, and every copy of its data. */
export async function deleteObjectWorkflow(input: DeleteJobInput): Promise<JobOutcome> {
  const { jobId } = input;
  let executed;
  try {
    executed = await executeDelete(jobId);
  } catch (error) {
    const failure = failureOf(error, 'delete');
    if (!failure) throw error;
    await settleJob(jobId, 'failed', failure);
    await notifyStarter(input, 'failed');
    return { status: 'failed', code: failure.code };
  }
  const indexPending = await awaitIndex(executed.outboxUpTo);
  await settleJob(jobId, 'completed', undefined, { indexPending });
  await notifyStarter(input, 'completed');
  return { status: 'completed', counts: executed.counts, indexPending };
}
