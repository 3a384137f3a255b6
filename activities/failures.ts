import {
  ApplicationFailure,
  ApplicationFailureCategory,
  CancelledFailure,
} from '@temporalio/common';
import {
  describeError,
  describeErrorLine,
  isDatabaseUnavailable,
  pgErrorOf,
  stackFramesOf,
} from '../db/errors';
import { DomainError } from '../lib/errors';
import { DATABASE_UNAVAILABLE_FAULT, INTERNAL_FAULT } from '../workflows/refusals';

/** The ApplicationFailure type of a fault worth retrying: an outage, a deadlock, a serialization failure. */
export const TRANSIENT_FAULT = 'TRANSIENT_FAULT';

/** Faults of the code itself: retrying the same input cannot fix them. */
const programmingErrors = [TypeError, ReferenceError, RangeError, SyntaxError];
/** SQLSTATE classes no retry can fix: data exceptions (22) and syntax or access rule violations (42). */
const hopelessSqlStates = ['22', '42'];

const isProgrammingError = (error: unknown) =>
  programmingErrors.some((kind) => error instanceof kind) ||
  hopelessSqlStates.includes(pgErrorOf(error)?.code.slice(0, 2) ?? '');

/** Cancellation must reach Temporal as itself; its message is the SDK's own, never data. */
const isCancellation = (error: unknown) =>
  error instanceof CancelledFailure || (error instanceof Error && error.name === 'AbortError');

/**
 * What an activity's error becomes in Temporal, whose history keeps it beyond
 * any erasure. A business refusal becomes a non-retryable failure typed with
 * its code (its message and details hold IDs and counts only). Any other
 * error — a programming error (not retried) or a transient fault (retried) —
 * becomes a failure that says only the activity, the error's class and, for a
 * database error, its SQLSTATE and constraint: never the error's message, a
 * `detail`, or its causes, which quote the statement's parameters. The stack
 * is the original error's frames, without its message.
 */
export function activityFailure(activity: string, error: unknown): Error {
  if (error instanceof DomainError) {
    return ApplicationFailure.create({
      type: error.code,
      message: error.message,
      nonRetryable: true,
      details: [{ kind: error.kind, ...error.details }],
      // An expected refusal, not a fault: the worker logs it at DEBUG, without a stack.
      category: ApplicationFailureCategory.BENIGN,
    });
  }
  if (isCancellation(error)) return error as Error;
  const hopeless = isProgrammingError(error);
  const failure = ApplicationFailure.create({
    type: hopeless
      ? INTERNAL_FAULT
      : isDatabaseUnavailable(error)
        ? DATABASE_UNAVAILABLE_FAULT
        : TRANSIENT_FAULT,
    message: `${activity} failed: ${describeErrorLine(error)}`,
    nonRetryable: hopeless,
    details: [describeError(error)],
  });
  const frames = stackFramesOf(error);
  failure.stack = `${String(failure)}${frames ? `\n${frames}` : ''}`;
  return failure;
}

/** Wraps every activity so that whatever it throws reaches Temporal as `activityFailure` says. */
export function refusalsAsFailures<
  T extends Record<string, (...args: never[]) => Promise<unknown>>,
>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (error) {
          throw activityFailure(name, error);
        }
      },
    ]),
  ) as T;
}
