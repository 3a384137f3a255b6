/** Retry policies and small steps that every job workflow shares. */
import { ActivityFailure, proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';

export const retries = {
  /**
   * Transient faults (a database or search outage, a lost connection) retry
   * for a bounded time; a refusal or a programming error is never retried.
   */
  transient: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 20,
  },
  /** Recording an outcome retries until Postgres takes it. */
  untilDone: { initialInterval: '1 second', maximumInterval: '1 minute' },
} satisfies Record<string, RetryPolicy>;

const { awaitSearchIndex } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 2 },
});

/**
 * Waits (a bounded time) until the search index shows what a job committed;
 * true when it does not yet. Postgres is the source of truth: the outbox
 * finishes a pending index update, the job does not wait for it.
 */
export async function awaitIndex(outboxUpTo: number): Promise<boolean> {
  try {
    const { pending } = await awaitSearchIndex(outboxUpTo);
    return pending;
  } catch (error) {
    if (error instanceof ActivityFailure) return true;
    throw error;
  }
}
