import { ApplicationFailure } from '@temporalio/common';
import { DomainError } from '../lib/errors';

/**
 * Business refusals must not be retried: they become non-retryable
 * ApplicationFailures typed with the refusal's code. Anything else is a
 * transient fault and propagates for Temporal to retry.
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
              details: [error.details],
            });
          }
          throw error;
        }
      },
    ]),
  ) as T;
}
