/**
 * Every retry policy a workflow gives its activities, in one place, each
 * with why it differs. Temporal retries an activity that throws unless the
 * failure is marked non-retryable: refusals and programming errors are
 * (activities/failures.ts), so these only shape how transient faults — an
 * outage, a lost connection, a worker that died — are waited out.
 */
import type { RetryPolicy } from '@temporalio/workflow';

export const retries = {
  /**
   * A job's steps: transient faults retry for a bounded time (about eight
   * minutes), then the job ends `failed` with a stable code its starter sees.
   */
  transient: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 20,
  },
  /**
   * Recording an outcome (a job's end, a request's state) retries until
   * Postgres takes it: it is all that tells the caller, so it outlasts any outage.
   */
  untilDone: { initialInterval: '1 second', maximumInterval: '1 minute' },
  /**
   * A privacy request's tracker: its guarded updates retry until Postgres
   * returns, more slowly than a job's — a request lives for weeks and must not
   * lose its tracker over an outage, nor hammer the database during one.
   */
  tracker: { initialInterval: '2 seconds', maximumInterval: '5 minutes' },
  /**
   * Waiting for the search index is already bounded by SEARCH_SETTLE_TIMEOUT
   * inside the activity; one more try covers a worker lost mid-wait, and past
   * that the job completes with `indexPending` (the outbox finishes it).
   */
  indexWait: { maximumAttempts: 2 },
  /**
   * SMTP may be down for a while: a few minutes of retries, then the notice
   * is given up (logged) — a notice never fails the job that sends it.
   */
  notice: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 8,
  },
  /**
   * The diagnostic round trip answers a waiting request: a few quick tries,
   * then the request answers 503 rather than hanging.
   */
  diagnostic: { maximumAttempts: 5 },
  /**
   * Histories before the erasureEnded signal followed a deletion job with a
   * heartbeating activity; kept so they replay with the policy they ran with.
   */
  legacyErasureFollow: {
    initialInterval: '5 seconds',
    maximumInterval: '1 minute',
    maximumAttempts: 50,
  },
} satisfies Record<string, RetryPolicy>;
