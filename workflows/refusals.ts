import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { JobRefusal } from './contracts';

/**
 * The business refusal behind an activity failure (a non-retryable
 * ApplicationFailure, its code and kind), or undefined for anything else.
 */
export function refusalOf(error: unknown): JobRefusal | undefined {
  if (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.nonRetryable &&
    error.cause.type !== INTERNAL_FAULT
  ) {
    const [details] = (error.cause.details ?? []) as [{ kind?: string } | undefined];
    return {
      code: error.cause.type ?? 'FAILED',
      message: error.cause.message,
      kind: details?.kind,
    };
  }
  return undefined;
}

/** The ApplicationFailure type of a programming error, which no retry can fix. */
export const INTERNAL_FAULT = 'INTERNAL_FAULT';

/**
 * The type of a transient fault that is Postgres being unreachable: retried
 * like any other, and when the retries run out the API answers
 * `503 DATABASE_UNAVAILABLE` for the workflow that waited on it, not a 500.
 */
export const DATABASE_UNAVAILABLE_FAULT = 'DATABASE_UNAVAILABLE';

/**
 * Why a step failed, for the job's error: its refusal, or — once its retries
 * are spent or a fault cannot be retried — a stable code that says which step.
 */
export function failureOf(error: unknown, step: string): JobRefusal | undefined {
  const refusal = refusalOf(error);
  if (refusal) return refusal;
  if (error instanceof ActivityFailure) {
    return {
      code: `${step.toUpperCase()}_FAILED`,
      message: `The ${step} step could not be completed; nothing was changed by it. It has been logged.`,
    };
  }
  return undefined;
}
