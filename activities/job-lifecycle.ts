import { Context } from '@temporalio/activity';
import {
  listOpenJobs,
  type OpenJob,
  transitionJob,
  unfinishedStatuses,
  type JobStatus,
} from '../db/queries/job-rows';
import { lastOutboxId } from '../db/queries/search-outbox';
import { WORKFLOW_NOT_FOUND, workflowEndOf } from '../lib/job-workflows';
import { confirmableOperations } from '../operations';
import { settleAbandonedJob } from '../operations/abandoned-jobs';
import type { AbandonedJob, ConfirmableJobType, JobRefusal } from '../workflows/contracts';
import { tellGdprRequests } from './gdpr';
import { withHeartbeat } from './heartbeat';
import type { ActivityDeps } from './index';

/** Open jobs read from Postgres at a time. */
const OPEN_JOBS_PAGE = 1000;
/** Abandoned jobs one reconciler run settles; the next run takes the rest. */
const MAX_ABANDONED_PER_RUN = 1000;
/** Workflows described at once. */
const DESCRIBE_CONCURRENCY = 8;

export function jobActivities({ db, temporal, config }: ActivityDeps) {
  return {
    /**
     * Records a finished job's status (and error); a job already finished
     * stays as it is. Then tells the GDPR requests a deletion job concerns
     * that it has ended (again on a retry: they look at the rows each time).
     */
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
      await tellGdprRequests({ db, temporal }, jobId);
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

    /**
     * The open jobs (pending, awaiting confirmation, running) whose workflow
     * has ended, each with the code it ended with. The latest run of each
     * workflow ID is asked, so a reset or continued workflow is alive. A
     * missing workflow counts only once the job's row is older than
     * JOB_RECONCILE_GRACE: a job row is written just before its workflow starts.
     */
    async findAbandonedJobs(
      jobIds?: string[],
    ): Promise<{ checked: number; abandoned: AbandonedJob[] }> {
      if (jobIds?.length === 0) return { checked: 0, abandoned: [] };
      const abandoned: AbandonedJob[] = [];
      const now = Date.now();
      let checked = 0;
      let after: OpenJob | undefined;
      // Every open job is looked at, page by page, however many live ones come first.
      while (abandoned.length < MAX_ABANDONED_PER_RUN) {
        const page = await listOpenJobs(db, { jobIds, after, limit: OPEN_JOBS_PAGE });
        if (page.length === 0) break;
        after = page.at(-1);
        for (let i = 0; i < page.length; i += DESCRIBE_CONCURRENCY) {
          const slice = page.slice(i, i + DESCRIBE_CONCURRENCY);
          const ends = await Promise.all(
            slice.map((job) => workflowEndOf(temporal, job.workflowId)),
          );
          slice.forEach((job, k) => {
            const code = ends[k];
            if (!code) return;
            const young = now - job.createdAt.getTime() < config.reconcile.graceMs;
            if (code === WORKFLOW_NOT_FOUND && young) return;
            abandoned.push({ jobId: job.id, code });
          });
          checked += slice.length;
          Context.current().heartbeat();
        }
      }
      return { checked, abandoned };
    },

    /**
     * Settles a job whose workflow ended without settling it (see
     * operations/abandoned-jobs.ts) and tells the GDPR requests it concerns.
     * `notify`: the job is final because of this code, so its starter is to
     * be told — also when a retried attempt finds the first one's work.
     */
    async settleAbandonedJob(
      jobId: string,
      code: string,
    ): Promise<{ status: JobStatus; notify: boolean }> {
      const settled = await settleAbandonedJob(db, jobId, code);
      await tellGdprRequests({ db, temporal }, jobId);
      return { status: settled.status, notify: settled.byThisCode };
    },
  };
}
