/**
 * One home per operation: each job type's preview and execute steps, looked
 * up by the job's type so one workflow machinery and one pair of activities
 * serve them all.
 */
import type { Queryable } from '../db/client';
import type { JobType } from '../db/queries/job-rows';
import type { PrepareOutcome, Touched } from './job-steps';
import { executeKObjectMove, prepareKObjectMove } from './kobject-move';
import { executeMerge, prepareMerge } from './merge';
import { executeSplit, prepareSplit } from './split';
import { executeUnmerge, prepareUnmerge } from './unmerge';

export interface ConfirmableOperation {
  prepare(db: Queryable, jobId: string, expiresAt: Date): Promise<PrepareOutcome>;
  execute(db: Queryable, jobId: string, confirmedBy: string): Promise<Touched>;
}

export const confirmableOperations = {
  merge: { prepare: prepareMerge, execute: executeMerge },
  split: { prepare: prepareSplit, execute: executeSplit },
  kobject_move: { prepare: prepareKObjectMove, execute: executeKObjectMove },
  unmerge: { prepare: prepareUnmerge, execute: executeUnmerge },
} satisfies Partial<Record<JobType, ConfirmableOperation>>;

export type { PrepareOutcome, Touched } from './job-steps';
