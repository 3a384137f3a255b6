import { Context } from '@temporalio/activity';
import { transitionJob, unfinishedStatuses, type JobStatus } from '../db/queries/jobs';
import { executeMerge, prepareMerge } from '../db/queries/merges';
import {
  executeKObjectMove,
  executeSplit,
  prepareKObjectMove,
  prepareSplit,
} from '../db/queries/transfers';
import type { ActivityDeps } from './index';

/** Keeps telling Temporal a long transaction is alive, so a crashed worker's attempt is retried quickly. */
async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export function jobActivities({ db }: ActivityDeps) {
  return {
    /** Records a finished job's status (and error code); a job already finished stays as it is. */
    async settleJob(jobId: string, status: JobStatus, error?: { code: string; message: string }) {
      await transitionJob(db, jobId, unfinishedStatuses, status, error ? { error } : {});
    },

    /** Checks a pending merge and records its preview, or rejects it (MERGE_LIMIT_EXCEEDED, CUSTOMER_NOT_FOUND…). */
    async prepareMerge(jobId: string, expiresAt: string) {
      return prepareMerge(db, jobId, new Date(expiresAt));
    },

    /** Executes a confirmed merge in one transaction; refuses PREVIEW_STALE when anything changed. */
    async executeMerge(jobId: string, confirmedBy: string) {
      return withHeartbeat(() => executeMerge(db, jobId, confirmedBy));
    },

    /** Checks a pending split (only conversations of the source) and records its preview. */
    async prepareSplit(jobId: string, expiresAt: string) {
      return prepareSplit(db, jobId, new Date(expiresAt));
    },

    /** Moves the confirmed conversations in one transaction; PREVIEW_STALE when any moved meanwhile. */
    async executeSplit(jobId: string, confirmedBy: string) {
      return withHeartbeat(() => executeSplit(db, jobId, confirmedBy));
    },

    /** Checks a pending KObject move (NOT_A_KOBJECT, ALREADY_ON_TARGET) and records its preview. */
    async prepareKObjectMove(jobId: string, expiresAt: string) {
      return prepareKObjectMove(db, jobId, new Date(expiresAt));
    },

    /** Moves the confirmed KObjects in one transaction; PREVIEW_STALE when any moved meanwhile. */
    async executeKObjectMove(jobId: string, confirmedBy: string) {
      return withHeartbeat(() => executeKObjectMove(db, jobId, confirmedBy));
    },
  };
}
