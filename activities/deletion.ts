import { Context } from '@temporalio/activity';
import { getSavedSearch } from '../db/queries/saved-searches';
import { analyzeAfterBulkErasure, analyzeAfterErasure } from '../db/queries/maintenance';
import { lastOutboxId } from '../db/queries/search-outbox';
import { getUser } from '../db/queries/users';
import { findJob } from '../db/queries/job-rows';
import { listJobCustomers } from '../lib/job-workflows';
import { MAX_SEARCHABLE_CUSTOMERS } from '../workflows/contracts';
import {
  bulkParams,
  closeUnconfirmed,
  customersOfSelection,
  deleteBulkBatch,
  previewOutcomeOf,
  recordPreviewedSelection,
  recordSelection,
  skipRemainingItems,
  startBulkDeletion,
  type BulkDeleteParams,
  type BulkJob,
  type SelectionPreview,
} from '../operations/bulk-delete';
import { executeDelete } from '../operations/delete';
import { selectExactMatches } from '../operations/erasure-selection';
import type { ActivityDeps } from './index';
import { withHeartbeat } from './heartbeat';

export function deletionActivities({ db, config, temporal }: ActivityDeps) {
  /**
   * Lists the customers a frozen selection touches in Temporal UI, unless the
   * job's own workflow holds them already (40 customers or fewer, chosen by ID).
   */
  async function listSelectedCustomers(jobId: string): Promise<void> {
    const job = await findJob(db, jobId);
    if (!job) return;
    const params = job.params as unknown as BulkDeleteParams;
    const heldByJob =
      params.entity === 'customer' && (params.ids?.length ?? 0) <= MAX_SEARCHABLE_CUSTOMERS;
    if (heldByJob && params.ids) return;
    const customerIds = await customersOfSelection(db, jobId);
    await listJobCustomers(temporal, config.temporal.taskQueue, job, customerIds, () =>
      Context.current().heartbeat(),
    );
  }

  /** The objects a bulk job selects: its explicit IDs, or every current match of its saved search. */
  async function selectionOf(job: BulkJob): Promise<string[]> {
    let ids = job.params.ids ?? [];
    if (job.params.savedSearchId) {
      const starter = job.startedBy ? await getUser(db, job.startedBy) : undefined;
      const saved = await getSavedSearch(db, job.params.savedSearchId, {
        id: job.startedBy ?? '',
        isAdmin: starter?.isAdmin ?? false,
      });
      // Exact matches, read from Postgres: never the index's near matches, never its lag.
      ids = await selectExactMatches(db, saved, {
        phoneRegion: config.phoneDefaultRegion,
        onPage: () => Context.current().heartbeat(),
      });
    }
    return ids;
  }

  return {
    /** Deletes one object and every copy of its data in one transaction; a retry does no harm. */
    async executeDelete(jobId: string) {
      const { counts } = await withHeartbeat(() =>
        executeDelete(db, jobId, { phoneRegion: config.phoneDefaultRegion }),
      );
      return { counts, outboxUpTo: await lastOutboxId(db), committedAt: new Date().toISOString() };
    },

    /**
     * Analyses the tables a committed erasure touched, so that column
     * statistics stop quoting what it erased; skips a table analysed since,
     * and shares one ANALYZE among erasures that ask at once.
     */
    async analyzeErasedTables(counts: Record<string, number>, committedAt: string) {
      const tables = await withHeartbeat(() =>
        analyzeAfterErasure(db, counts, { committedAt: new Date(committedAt) }),
      );
      return { analysed: tables.length };
    },

    /**
     * Fixes a bulk job's selection and starts it at once: how jobs ran before
     * bulk erasures were previewed; kept for workflows started by that code.
     * Returns how many objects it holds.
     */
    async selectBulkItems(jobId: string): Promise<number> {
      const job = await bulkParams(db, jobId);
      if (!job) throw new Error(`bulk job ${jobId} has no row`);
      // A retry after the selection was recorded: it is fixed, and the saved search is not asked again.
      const total =
        job.status === 'pending'
          ? await recordSelection(db, jobId, await selectionOf(job))
          : job.progressTotal;
      await listSelectedCustomers(jobId);
      return total;
    },

    /**
     * Fixes a bulk job's selection and records its preview; the job then
     * awaits a confirmation by count until `expiresAt`. Refused when nothing
     * is selected. A retry answers from the job's row.
     */
    async previewBulkSelection(
      jobId: string,
      expiresAt: string,
      { listCustomers = true }: { listCustomers?: boolean } = {},
    ): Promise<SelectionPreview> {
      const job = await bulkParams(db, jobId);
      if (!job) throw new Error(`bulk job ${jobId} has no row`);
      // A retry after the selection was recorded answers from the row, and lists what the first try may not have.
      const preview =
        job.status === 'pending'
          ? await recordPreviewedSelection(db, jobId, await selectionOf(job), new Date(expiresAt))
          : previewOutcomeOf(job);
      // Workflows since the 'bulk-delete-list-customers-aside' patch list them in a step of their own.
      if (preview.status !== 'rejected' && listCustomers) await listSelectedCustomers(jobId);
      return preview;
    },

    /**
     * Lists the customers of a previewed bulk job in Temporal UI, off the
     * preview's path: the workflow runs it beside the wait for a confirmation,
     * and erases nothing before it is done (the owners of selected
     * conversations and KObjects are read from their rows). Safe to retry:
     * parts already started are left as they are.
     */
    async listBulkJobCustomers(jobId: string): Promise<void> {
      await listSelectedCustomers(jobId);
    },

    /** Starts a previewed bulk job that was confirmed with its previewed count. */
    async startBulkDeletion(jobId: string, confirmedBy: string, count: number) {
      await startBulkDeletion(db, jobId, confirmedBy, count);
    },

    /** Closes a previewed bulk job that was never confirmed: its selection is skipped. */
    async closeUnconfirmedBulkJob(jobId: string, status: 'expired' | 'cancelled') {
      await closeUnconfirmed(db, jobId, status);
    },

    /** Deletes the next batch of a bulk job and reports its progress. */
    async deleteBulkBatch(jobId: string) {
      const progress = await withHeartbeat(() =>
        deleteBulkBatch(db, jobId, {
          batchSize: config.bulkBatchSize,
          phoneRegion: config.phoneDefaultRegion,
        }),
      );
      const finished = progress.remaining === 0;
      await withHeartbeat(() => analyzeAfterBulkErasure(db, jobId, { finished }));
      return { ...progress, outboxUpTo: await lastOutboxId(db) };
    },

    /** Marks what a cancelled bulk job had not reached as skipped. */
    async skipRemainingItems(jobId: string) {
      await skipRemainingItems(db, jobId);
      await withHeartbeat(() => analyzeAfterBulkErasure(db, jobId, { finished: true }));
    },
  };
}
