import type { CancelledFailure } from '@temporalio/workflow';
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  patched,
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
  confirmBulkDeleteUpdate,
  searchAttributes,
  type BulkDeleteInput,
  type ConfirmBulkDeleteArgs,
  type JobOutcome,
} from './contracts';
import { failureOf } from './refusals';
import { awaitIndex, endOfJob, notifyStarter, settleJob } from './job-endings';
import { retries } from './retry-policies';

const {
  selectBulkItems,
  previewBulkSelection,
  startBulkDeletion,
  closeUnconfirmedBulkJob,
  deleteBulkBatch,
  skipRemainingItems,
  listBulkJobCustomers,
} = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: retries.transient,
});

/** Batches per run before the history is handed to a fresh run. */
const BATCHES_PER_RUN = 200;

/**
 * Since this patch a bulk erasure previews its frozen selection and waits for
 * a confirmation that repeats its count; histories recorded before it started
 * erasing at once.
 */
const PREVIEW_PATCH = 'bulk-delete-preview';

/**
 * Since this patch the customers of a previewed selection are listed in
 * Temporal UI by a step of their own, beside the wait for a confirmation,
 * instead of inside the preview step (20,000 customers take ~8 s to list,
 * and the confirmation waited). The erasure starts once they are listed:
 * beside it, the listing's hundreds of short workflows held up its batches
 * (a batch waited ~97 s on a loaded machine), and the owners of selected
 * conversations and KObjects are read from rows the erasure deletes.
 */
const LIST_ASIDE_PATCH = 'bulk-delete-list-customers-aside';

type Phase = 'selecting' | 'awaiting_confirmation' | 'running' | 'finished';

/**
 * Erases a fixed selection of customers, conversations or KObjects in
 * batches: previewed (count and first page), confirmed by that count, then
 * run. Postgres holds the cursor (each object's status), so the workflow only
 * loops: it survives worker crashes, server restarts and outages, and hands
 * its history over with continue-as-new before it grows large. A cancel — the
 * API's, or one requested in Temporal UI — stops it after its current batch.
 */
export async function bulkDeleteWorkflow(input: BulkDeleteInput): Promise<JobOutcome> {
  let cancelled = input.cancelled ?? false;
  // A cancellation requested in Temporal UI or the CLI is a cancel like the API's: the
  // work runs in a scope it cannot interrupt, and stops at the next batch boundary.
  let cancelledFromTemporal: CancelledFailure | undefined;
  CancellationScope.current().cancelRequested.catch((failure: CancelledFailure) => {
    cancelled = true;
    cancelledFromTemporal = failure;
  });
  const outcome = await CancellationScope.nonCancellable(() =>
    runBulkDelete(
      input,
      () => cancelled,
      () => {
        cancelled = true;
      },
    ),
  );
  // Shown as Canceled in Temporal UI, as asked there; the job row says cancelled already.
  if (cancelledFromTemporal && outcome.status === 'cancelled') throw cancelledFromTemporal;
  return endOfJob(outcome);
}

async function runBulkDelete(
  input: BulkDeleteInput,
  isCancelled: () => boolean,
  cancel: () => void,
): Promise<JobOutcome> {
  const { jobId } = input;
  let phase: Phase = input.selected ? 'running' : 'selecting';
  let total = 0;
  let confirmedBy: string | undefined;
  setHandler(cancelBulkJobSignal, cancel);
  const notAwaiting = () =>
    ApplicationFailure.create({
      type: 'JOB_NOT_AWAITING_CONFIRMATION',
      message: `The job is ${phase === 'finished' ? 'no longer awaiting confirmation' : phase}.`,
      nonRetryable: true,
    });
  const countMismatch = (count: number) =>
    ApplicationFailure.create({
      type: 'COUNT_MISMATCH',
      message: `The preview selected ${total} objects, not ${count}.`,
      nonRetryable: true,
    });
  // The preview is committed to Postgres a moment before this workflow learns of it, so a
  // confirmation may arrive while it is still 'selecting'; its count is checked once known.
  const open = () =>
    (phase === 'selecting' || phase === 'awaiting_confirmation') &&
    confirmedBy === undefined &&
    !isCancelled();
  setHandler(
    confirmBulkDeleteUpdate,
    async (args) => {
      await condition(() => phase !== 'selecting');
      if (!open()) throw notAwaiting();
      if (args.count !== total) throw countMismatch(args.count);
      confirmedBy = args.confirmedBy;
      await condition(() => phase !== 'awaiting_confirmation');
      if (phase !== 'running') throw notAwaiting();
      return { status: 'running' as const };
    },
    {
      validator: (args: ConfirmBulkDeleteArgs) => {
        if (!open()) throw notAwaiting();
        if (phase === 'awaiting_confirmation' && args.count !== total)
          throw countMismatch(args.count);
      },
    },
  );
  const status = (value: string) =>
    upsertSearchAttributes([{ key: searchAttributes.jobStatus, value }]);

  // The listing of the selection's customers in Temporal UI, while it runs beside the job.
  let listing: Promise<void> | undefined;
  const listed = async () => {
    await listing;
    listing = undefined;
  };

  const finish = async (outcome: JobOutcome) => {
    phase = 'finished';
    await listed();
    await condition(allHandlersFinished);
    return outcome;
  };

  const fail = async (error: unknown, step: string): Promise<JobOutcome> => {
    const failure = failureOf(error, step);
    if (!failure) throw error;
    await settleJob(jobId, 'failed', failure);
    status('failed');
    await notifyStarter(input, 'failed', { always: true });
    return finish({ status: 'failed', code: failure.code });
  };

  if (!input.selected) {
    if (input.confirmTtlMs !== undefined && patched(PREVIEW_PATCH)) {
      const expiresAt = new Date(Date.now() + input.confirmTtlMs).toISOString();
      const listAside = patched(LIST_ASIDE_PATCH);
      try {
        const preview = listAside
          ? await previewBulkSelection(jobId, expiresAt, { listCustomers: false })
          : await previewBulkSelection(jobId, expiresAt);
        if (preview.status === 'rejected') {
          status('rejected');
          return finish({ status: 'rejected', code: preview.code });
        }
        total = preview.total;
      } catch (error) {
        return fail(error, 'selection');
      }
      // Retried for minutes like any step; a listing that still fails leaves the erasure be.
      if (listAside) listing = listBulkJobCustomers(jobId).catch(() => undefined);
      phase = 'awaiting_confirmation';
      upsertSearchAttributes([
        { key: searchAttributes.jobStatus, value: 'awaiting_confirmation' },
        { key: searchAttributes.itemsTotal, value: total },
      ]);
      const decided = await condition(
        () => confirmedBy !== undefined || isCancelled(),
        input.confirmTtlMs,
      );
      if (!decided || isCancelled()) {
        const end = decided ? 'cancelled' : 'expired';
        await closeUnconfirmedBulkJob(jobId, end);
        status(end);
        return finish({ status: end });
      }
      try {
        await startBulkDeletion(jobId, confirmedBy!, total);
      } catch (error) {
        return fail(error, 'confirm');
      }
      phase = 'running';
      status('running');
      // The confirmation has its answer; the first batch waits for the listing.
      await listed();
    } else {
      try {
        total = await selectBulkItems(jobId);
        upsertSearchAttributes([
          { key: searchAttributes.jobStatus, value: 'running' },
          { key: searchAttributes.itemsTotal, value: total },
        ]);
      } catch (error) {
        return fail(error, 'selection');
      }
      phase = 'running';
    }
  }

  let outboxUpTo = 0;
  let counts = { total: 0, done: 0, failed: 0 };
  for (let batch = 0; ; batch++) {
    if (isCancelled()) {
      await skipRemainingItems(jobId);
      await settleJob(jobId, 'cancelled');
      status('cancelled');
      await notifyStarter(input, 'cancelled', { always: true });
      return finish({ status: 'cancelled' });
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
      await listed();
      await condition(allHandlersFinished);
      return continueAsNew<typeof bulkDeleteWorkflow>({
        ...input,
        selected: true,
        cancelled: isCancelled(),
      });
    }
  }

  const indexPending = await awaitIndex(outboxUpTo);
  await settleJob(jobId, 'completed', undefined, { indexPending });
  status('completed');
  await notifyStarter(input, 'completed', { always: true });
  return finish({ status: 'completed', counts, indexPending });
}
