import {
  buildExportArchive,
  completeExportJob,
  discardExportArchive,
  startExportBuild,
} from '../operations/exports';
import { withHeartbeat } from './heartbeat';
import type { ActivityDeps } from './index';

export function exportActivities({ db }: ActivityDeps) {
  return {
    /** Marks an export job running; returns its archive's ID and expiry. */
    async startExportBuild(jobId: string) {
      return startExportBuild(db, jobId);
    },

    /**
     * Builds the archive into Postgres; returns its counts and size only. A
     * retry rebuilds it from scratch (operations/exports.ts).
     */
    async buildExportArchive(archiveId: string, pageSize?: number) {
      return withHeartbeat(() => buildExportArchive(db, archiveId, { pageSize }));
    },

    /** Completes the export job with the archive's counts. */
    async completeExportJob(jobId: string, counts: Record<string, number>) {
      await completeExportJob(db, jobId, counts);
    },

    /** Deletes an archive's bytes at its expiry, or after a build that failed. */
    async discardExportArchive(archiveId: string, status: 'expired' | 'failed') {
      return discardExportArchive(db, archiveId, status);
    },
  };
}
