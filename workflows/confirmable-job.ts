/**
 * The one preview → confirm | cancel | expire machinery shared by merge,
 * split and KObject moves. Each job type supplies its own steps.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  cancelJobSignal,
  confirmJobUpdate,
  jobStatusQuery,
  searchAttributes,
  type ConfirmableJobInput,
  type ConfirmJobArgs,
  type JobOutcome,
} from './contracts';
import { refusalOf } from './refusals';

export interface ConfirmableJobSteps {
  /** Checks the request and stores its preview; a refusal carries its code. */
  prepare(
    expiresAt: string,
  ): Promise<{ status: 'awaiting_confirmation' } | { status: 'rejected'; code: string }>;
  /** Does the work in Postgres and returns counts for the job's result. */
  execute(confirmedBy: string): Promise<Record<string, number>>;
  /** Records the job's final status in Postgres. */
  settle(
    status: 'completed' | 'failed' | 'expired' | 'cancelled',
    error?: { code: string; message: string },
  ): Promise<void>;
}

type Phase = 'preparing' | 'awaiting_confirmation' | 'executing' | 'finished';

export async function runConfirmableJob(
  input: ConfirmableJobInput,
  steps: ConfirmableJobSteps,
): Promise<JobOutcome> {
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

  setHandler(jobStatusQuery, () => phase);
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
  const prepared = await steps.prepare(expiresAt);
  if (prepared.status === 'rejected') return finish({ status: 'rejected', code: prepared.code });

  enter('awaiting_confirmation', 'awaiting_confirmation');
  const decided = await condition(() => decision !== undefined, input.confirmTtlMs);
  if (!decided || decision === undefined) {
    await steps.settle('expired');
    return finish({ status: 'expired' });
  }
  if (decision === 'cancel') {
    await steps.settle('cancelled');
    return finish({ status: 'cancelled' });
  }

  enter('executing', 'running');
  try {
    const counts = await steps.execute(decision.confirmedBy);
    await steps.settle('completed');
    return finish({ status: 'completed', counts });
  } catch (error) {
    const refusal = refusalOf(error);
    if (!refusal) throw error;
    await steps.settle('failed', refusal);
    return finish({ status: 'failed', code: refusal.code });
  }
}
