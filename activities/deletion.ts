import { Context } from '@temporalio/activity';
import { getSavedSearch } from '../db/queries/saved-searches';
import { lastOutboxId } from '../db/queries/search-outbox';
import { getUser } from '../db/queries/users';
import {
  bulkParams,
  deleteBulkBatch,
  recordSelection,
  skipRemainingItems,
} from '../operations/bulk-delete';
import { executeDelete } from '../operations/delete';
import { selectExactMatches } from '../operations/erasure-selection';
import type { ActivityDeps } from './index';
import { withHeartbeat } from './heartbeat';

export function deletionActivities({ db, config }: ActivityDeps) {
  return {
    /** Deletes one object and every copy of its data in one transaction; a retry does no harm. */
    async executeDelete(jobId: string) {
      const { counts } = await withHeartbeat(() => executeDelete(db, jobId));
      return { counts, outboxUpTo: await lastOutboxId(db) };
    },

    /**
     * Fixes a bulk job's selection: its explicit IDs, or every current match of
     * its saved search. Returns how many objects it holds.
     */
    async selectBulkItems(jobId: string): Promise<number> {
      const job = await bulkParams(db, jobId);
      if (!job) throw new Error(`bulk job ${jobId} has no row`);
      // A retry after the selection was recorded: it is fixed, and the saved search is not asked again.
      if (job.status !== 'pending') return job.progressTotal;
      let ids = job.params.ids ?? [];
      if (job.params.savedSearchId) {
        const starter = job.startedBy ? await getUser(db, job.startedBy) : undefined;
        const saved = await getSavedSearch(db, job.params.savedSearchId, {
          id: job.startedBy ?? '',
          isAdmin: starter?.isAdmin ?? false,
        });
        // Exact matches, read from Postgres: never the index's near matches, never its lag.
        ids = await selectExactMatches(db, saved, { onPage: () => Context.current().heartbeat() });
      }
      return recordSelection(db, jobId, ids);
    },

    /** Deletes the next batch of a bulk job and reports its progress. */
    async deleteBulkBatch(jobId: string) {
      const progress = await withHeartbeat(() => deleteBulkBatch(db, jobId, config.bulkBatchSize));
      return { ...progress, outboxUpTo: await lastOutboxId(db) };
    },

    /** Marks what a cancelled bulk job had not reached as skipped. */
    async skipRemainingItems(jobId: string) {
      await skipRemainingItems(db, jobId);
    },
  };
}
