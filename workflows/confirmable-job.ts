/**
 * The one preview → confirm | cancel | expire machinery shared by merge,
 * split, KObject moves and the undo of a merge. The activities look up each job type's own steps.
 */
import type { CancelledFailure } from '@temporalio/workflow';
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  patched,
  proxyActivities,
  proxyLocalActivities,
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
import { awaitIndex, endOfJob, notifyStarter, settleJob, settleJobLocally } from './job-endings';
import { retries } from './retry-policies';

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: retries.transient,
});
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: retries.transient,
});
/*
 * The execute step stays an ordinary activity, the one round trip through the
 * server a confirmed job makes: it heartbeats while its transaction runs, so a
 * worker that dies is noticed in seconds, and the workflow task that accepts
 * the confirmation ends before it starts — as a local activity it would hold
 * that task, and with it the API's confirm (and its 202 for a long job), open
 * until the transaction ended, or until a dead worker's task timed out.
 */
const { executeJob } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retries.transient,
});

type Phase = 'preparing' | 'awaiting_confirmation' | 'executing' | 'finished';

/**
 * Since this patch the preview, the index wait and the job's settling are local
 * activities (job-endings.ts says what that costs); histories recorded before it
 * replay the ordinary activities they scheduled.
 */
const LOCAL_STEPS_PATCH = 'confirmable-job-local-steps';

/**
 * A cancellation requested in Temporal UI or the CLI is a cancel like the
 * API's: before the confirmation the job ends `cancelled` (and the workflow
 * Canceled); once executing, the one transaction finishes and the job settles.
 */
async function runConfirmableJob(input: ConfirmableJobInput): Promise<JobOutcome> {
  let cancelledFromTemporal: CancelledFailure | undefined;
  let cancel = () => {};
  CancellationScope.current().cancelRequested.catch((failure: CancelledFailure) => {
    cancelledFromTemporal = failure;
    cancel();
  });
  const outcome = await CancellationScope.nonCancellable(() =>
    confirmableJob(input, (onCancel) => {
      cancel = onCancel;
      if (cancelledFromTemporal !== undefined) onCancel();
    }),
  );
  if (cancelledFromTemporal !== undefined && outcome.status === 'cancelled')
    throw cancelledFromTemporal;
  return endOfJob(outcome);
}

async function confirmableJob(
  input: ConfirmableJobInput,
  onCancel: (cancel: () => void) => void,
): Promise<JobOutcome> {
  const lean = patched(LOCAL_STEPS_PATCH);
  const prepareJob = lean ? local.prepareJob : quick.prepareJob;
  const settle = lean ? settleJobLocally : settleJob;
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

  const cancel = () => {
    if (open()) decision = 'cancel';
  };
  setHandler(cancelJobSignal, cancel);
  onCancel(cancel);
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
    const prepared = await prepareJob(input.type, input.jobId, expiresAt);
    if (prepared.status === 'rejected') return finish({ status: 'rejected', code: prepared.code });
  } catch (error) {
    const failure = failureOf(error, 'preview');
    if (!failure) throw error;
    await settle(input.jobId, 'failed', failure);
    await notifyStarter(input, 'failed');
    return finish({ status: 'failed', code: failure.code });
  }

  enter('awaiting_confirmation', 'awaiting_confirmation');
  const decided = await condition(() => decision !== undefined, input.confirmTtlMs);
  if (!decided || decision === undefined) {
    await settle(input.jobId, 'expired');
    return finish({ status: 'expired' });
  }
  if (decision === 'cancel') {
    await settle(input.jobId, 'cancelled');
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
    await settle(input.jobId, 'failed', failure);
    await notifyStarter(input, 'failed', { since: confirmedAt });
    return finish({ status: 'failed', code: failure.code });
  }
  const indexPending = await awaitIndex(executed.outboxUpTo, { local: lean });
  await settle(input.jobId, 'completed', undefined, { indexPending });
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

/** Undoes a merge from its journal: preview, wait for confirmation, restore, index. */
export async function undoMergeWorkflow(input: ConfirmableJobInput): Promise<JobOutcome> {
  return runConfirmableJob(input);
}
