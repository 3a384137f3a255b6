import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/**
 * The business refusal behind an activity failure (a non-retryable
 * ApplicationFailure and its code), or undefined for anything else.
 */
export function refusalOf(error: unknown): { code: string; message: string } | undefined {
  if (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.nonRetryable
  ) {
    return { code: error.cause.type ?? 'FAILED', message: error.cause.message };
  }
  return undefined;
}
