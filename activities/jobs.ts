import { transitionJob, unfinishedStatuses, type JobStatus } from '../db/queries/jobs';
import { lastOutboxId } from '../db/queries/search-outbox';
import { confirmableOperations } from '../operations';
import type { ConfirmableJobType, JobRefusal } from '../workflows/contracts';
import { withHeartbeat } from './heartbeat';
import type { ActivityDeps } from './index';

export function jobActivities({ db }: ActivityDeps) {
  return {
    /** Records a finished job's status (and error); a job already finished stays as it is. */
    async settleJob(
      jobId: string,
      status: JobStatus,
      error?: JobRefusal,
      outcome?: { indexPending: boolean },
    ) {
      await transitionJob(db, jobId, unfinishedStatuses, status, {
        ...(error ? { error } : {}),
        ...(outcome ? { outcome } : {}),
      });
    },

    /** Checks a pending job and records its preview, or rejects it with a refusal code. */
    async prepareJob(type: ConfirmableJobType, jobId: string, expiresAt: string) {
      return confirmableOperations[type].prepare(db, jobId, new Date(expiresAt));
    },

    /**
     * Executes a confirmed job in one transaction; refuses PREVIEW_STALE when
     * anything changed. Returns counts and how far the search outbox must drain.
     */
    async executeJob(type: ConfirmableJobType, jobId: string, confirmedBy: string) {
      const touched = await withHeartbeat(() =>
        confirmableOperations[type].execute(db, jobId, confirmedBy),
      );
      return { counts: touched.counts, outboxUpTo: await lastOutboxId(db) };
    },
  };
}
