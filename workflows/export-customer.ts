import {
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  exportRequestClosedSignal,
  searchAttributes,
  type ExportCustomerInput,
  type JobOutcome,
} from './contracts';
import { failureOf } from './refusals';
import { notifyStarter, settleJob } from './job-endings';
import { retries } from './retry-policies';

const { startExportBuild, completeExportJob } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: retries.transient,
});

// A large customer takes minutes; the heartbeat tells a lost worker within 30 s.
const { buildExportArchive } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: retries.transient,
});

// Deleting personal data at its expiry must outlast any outage.
const { discardExportArchive: discardUntilDone } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: retries.untilDone,
});

/**
 * Since this patch the workflow ends when its privacy request closes: the
 * exportRequestClosed signal wakes the wait for the expiry (the close has
 * already deleted the archive in Postgres), and an export whose request
 * closed while it was built tells no one it is ready. Histories recorded
 * before it sleep until the expiry.
 */
const REQUEST_CLOSED_PATCH = 'export-request-closed';

/**
 * Exports everything held about one customer into an archive stored in
 * Postgres, says it is ready (to every handler of privacy requests when it
 * answers one, else to its starter), then keeps it until its expiry
 * (a durable timer) or until its privacy request closes, and deletes it. The
 * workflow sees the archive's ID, its expiry and counts, never its content.
 * Cancelling the workflow deletes the archive at once.
 */
export async function exportCustomerWorkflow(input: ExportCustomerInput): Promise<JobOutcome> {
  const { jobId } = input;
  const followsClose = patched(REQUEST_CLOSED_PATCH);
  let requestClosed = false;
  if (followsClose) {
    setHandler(exportRequestClosedSignal, () => {
      requestClosed = true;
    });
  }
  const status = (value: string) =>
    upsertSearchAttributes([{ key: searchAttributes.jobStatus, value }]);
  let archive: { archiveId: string; expiresAt: string } | undefined;
  let counts: Record<string, number>;
  try {
    archive = await startExportBuild(jobId);
    status('running');
    setCurrentDetails(`Building export ${archive.archiveId}`);
    const built = await buildExportArchive(archive.archiveId, input.pageSize);
    counts = built.counts;
    await completeExportJob(jobId, counts);
    const records = Object.values(counts).reduce((sum, n) => sum + n, 0);
    upsertSearchAttributes([
      { key: searchAttributes.jobStatus, value: 'completed' },
      { key: searchAttributes.itemsTotal, value: records },
      { key: searchAttributes.itemsDone, value: records },
    ]);
    setCurrentDetails(
      `Export ${archive.archiveId} ready: ${records} records, ${built.size} bytes; deleted at ${archive.expiresAt}`,
    );
  } catch (error) {
    const failed = archive;
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(async () => {
        if (failed) await discardUntilDone(failed.archiveId, 'failed');
        await settleJob(jobId, 'cancelled');
      });
      throw error;
    }
    const failure = failureOf(error, 'export');
    if (!failure) throw error;
    if (failed) await discardUntilDone(failed.archiveId, 'failed');
    await settleJob(jobId, 'failed', failure);
    status('failed');
    await notifyStarter(input, 'failed', { always: true });
    return { status: 'failed', code: failure.code };
  }
  if (!requestClosed) await notifyStarter(input, 'completed', { always: true });
  try {
    const wait = Date.parse(archive.expiresAt) - Date.now();
    if (followsClose) {
      if (wait > 0) await condition(() => requestClosed, wait);
    } else if (wait > 0) await sleep(wait);
  } catch (error) {
    // A cancel from Temporal UI deletes the archive now instead of at its expiry.
    if (!isCancellation(error)) throw error;
  }
  const { archiveId } = archive;
  await CancellationScope.nonCancellable(() => discardUntilDone(archiveId, 'expired'));
  setCurrentDetails(
    requestClosed
      ? `Export ${archiveId} deleted: its request closed`
      : `Export ${archiveId} expired and deleted`,
  );
  return { status: 'completed', counts };
}
