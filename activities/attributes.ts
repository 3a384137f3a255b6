import {
  clearAttributeBatch,
  finishAttributeClearing,
  startAttributeClearing,
} from '../operations/attribute-definitions';
import { withHeartbeat } from './heartbeat';
import type { ActivityDeps } from './index';

/** Rows cleared per transaction: short row locks, few round trips. */
export const CLEAR_BATCH_SIZE = 500;

export function attributeActivities({ db }: ActivityDeps) {
  return {
    /** Marks an attribute clearing job running; returns how many values it will clear. */
    async startAttributeClearing(jobId: string) {
      return startAttributeClearing(db, jobId);
    },

    /** Clears the attribute from the next batch of rows after `after` (a row ID). */
    async clearAttributeBatch(jobId: string, after: string | null, size = CLEAR_BATCH_SIZE) {
      return withHeartbeat(() => clearAttributeBatch(db, jobId, after, size));
    },

    /** Removes the cleared definition; nothing when a retry finds it gone. */
    async finishAttributeClearing(jobId: string) {
      await finishAttributeClearing(db, jobId);
    },
  };
}
