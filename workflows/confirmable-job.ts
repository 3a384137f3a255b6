/**
 * The one preview → confirm | cancel | expire machinery shared by merge,
 * split and KObject moves. The activities look up each job type's own steps.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  cancelJobSignal,
  confirmJobUpdate,
  searchAttributes,
  type ConfirmableJobInput,
  type ConfirmJobArgs,
  type JobOutcome,
} from './contracts';
import { failureOf } from './refusals';
import { awaitIndex, notifyStarter, retries, settleJob } from './steps';

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: retries.transient,
});
// The execute step heartbeats while its transaction runs: a worker that dies is noticed in seconds.
const { executeJob } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retries.transient,
});

type Phase = 'preparing' | 'awaiting_confirmation' | 'executing' | 'finished';

async function runConfirmableJob(input: ConfirmableJobInput): Promise<JobOutcome> {
  let phase: Phase = 'preparing';
  let decision: ConfirmJobArgs | 'cancel' | undefined;
  let outcome: JobOutcome | undefined;

  const enter = (next: Phase, status: string) => {
    phase = next;
    upsertSearchAttributes([{ key: searchAttributes.jobStatus, value: status }]);
  };

  // The preview is committed to Postgres a moment before this workflow learns of it,
  // so a decision may arrive while it is still 'preparing'; it is kept and applied then.
  const open = () =>
    (phase === 'preparing' || phase === 'awaiting_confirmation') && decision === undefined;

  setHandler(cancelJobSignal, () => {
    if (open()) decision = 'cancel';
  });
  setHandler(
    confirmJobUpdate,
    async (args) => {
      decision = args;
      await condition(() => outcome !== undefined);
      return outcome!;
    },
    {
      validator: (_args: ConfirmJobArgs) => {
        if (!open()) {
          throw ApplicationFailure.create({
            type: 'JOB_NOT_AWAITING_CONFIRMATION',
            message: `The job is ${decision === undefined ? phase : 'already decided'}.`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  const finish = async (result: JobOutcome) => {
    outcome = result;
    enter('finished', result.status);
    await condition(allHandlersFinished);
    return result;
  };

  const expiresAt = new Date(Date.now() + input.confirmTtlMs).toISOString();
  try {
    const prepared = await quick.prepareJob(input.type, input.jobId, expiresAt);
    if (prepared.status === 'rejected') return finish({ status: 'rejected', code: prepared.code });
  } catch (error) {
    const failure = failureOf(error, 'preview');
    if (!failure) throw error;
    await settleJob(input.jobId, 'failed', failure);
    await notifyStarter(input, 'failed');
    return finish({ status: 'failed', code: failure.code });
  }

  enter('awaiting_confirmation', 'awaiting_confirmation');
  const decided = await condition(() => decision !== undefined, input.confirmTtlMs);
  if (!decided || decision === undefined) {
    await settleJob(input.jobId, 'expired');
    return finish({ status: 'expired' });
  }
  if (decision === 'cancel') {
    await settleJob(input.jobId, 'cancelled');
    return finish({ status: 'cancelled' });
  }

  enter('executing', 'running');
  const confirmedAt = Date.now();
  let executed;
  try {
    executed = await executeJob(input.type, input.jobId, decision.confirmedBy);
  } catch (error) {
    const failure = failureOf(error, 'execute');
    if (!failure) throw error;
    await settleJob(input.jobId, 'failed', failure);
    await notifyStarter(input, 'failed');
    return finish({ status: 'failed', code: failure.code });
  }
  const indexPending = await awaitIndex(executed.outboxUpTo);
  await settleJob(input.jobId, 'completed', undefined, { indexPending });
  await notifyStarter(input, 'completed', { since: confirmedAt });
  return finish({ status: 'completed', counts: executed.counts, indexPending });
}

/** Merges one customer into another: preview, wait for confirmation, merge, index. */
export async function mergeCustomersWorkflow(input: ConfirmableJobInput): Promise<JobOutcome> {
  return runConfirmableJob(input);
}

/** Moves selected conversations (only conversations) from one customer to another. */
export async function splitTimelineWorkflow(input: ConfirmableJobInput): Promise<JobOutcome> {
  return runConfirmableJob(input);
}

/** Moves KObjects to another customer; their pins go with them. */
export async function moveKObjectsWorkflow(input: ConfirmableJobInput): Promise<JobOutcome> {
  return runConfirmableJob(input);
}
