import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { pgErrorOf } from '../db/errors';
import { DomainError } from '../lib/errors';
import { INTERNAL_FAULT } from '../workflows/refusals';

/** Faults of the code itself: retrying the same input cannot fix them. */
const programmingErrors = [TypeError, ReferenceError, RangeError, SyntaxError];
/** SQLSTATE classes no retry can fix: data exceptions (22) and syntax or access rule violations (42). */
const hopelessSqlStates = ['22', '42'];

const isProgrammingError = (error: unknown) =>
  programmingErrors.some((kind) => error instanceof kind) ||
  hopelessSqlStates.includes(pgErrorOf(error)?.code.slice(0, 2) ?? '');

/**
 * Business refusals must not be retried: they become non-retryable
 * ApplicationFailures typed with the refusal's code, keeping its kind in the
 * details. A programming error is not retried either. Anything else is a
 * transient fault (an outage, a lost connection) for Temporal to retry within
 * the activity's retry policy.
 */
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
          if (error instanceof DomainError) {
            throw ApplicationFailure.create({
              type: error.code,
              message: error.message,
              nonRetryable: true,
              details: [{ kind: error.kind, ...error.details }],
              // An expected refusal, not a fault: the worker logs it at DEBUG, without a stack.
              category: ApplicationFailureCategory.BENIGN,
            });
          }
          if (isProgrammingError(error)) {
            throw ApplicationFailure.create({
              type: INTERNAL_FAULT,
              message: `${name} failed: ${(error as Error).name}${pgErrorOf(error) ? ` (SQLSTATE ${pgErrorOf(error)!.code})` : ''}`,
              nonRetryable: true,
            });
          }
          throw error;
        }
      },
    ]),
  ) as T;
}
