/** Rules of GDPR erasure requests shared by the API, the activities and the report. */
import { DomainError } from '../lib/errors';

export const DAY_MS = 86_400_000;

/** Statuses in which a privacy request is still being worked on. */
export const pendingStatuses = ['open', 'overdue'] as const;

export const isPending = (row: { status: string }) =>
  (pendingStatuses as readonly string[]).includes(row.status);

/** How far back a request may have been received (a late-recorded request is still recorded). */
export const MAX_RECEIVED_AGE_DAYS = 366;

/** A request's deadline: received at + the deadline in days. */
export function dueAtOf(receivedAt: Date, deadlineDays: number): Date {
  return new Date(receivedAt.getTime() + deadlineDays * DAY_MS);
}

/**
 * Whole days until the deadline, rounded up while it is ahead (due in 3 hours
 * is 1 day left); once it has passed, the whole days overdue as a negative
 * number, at least -1 (3 hours late is -1, 3 days and an hour late is -3).
 */
export function daysLeft(dueAt: Date, now: Date): number {
  const days = (dueAt.getTime() - now.getTime()) / DAY_MS;
  return days >= 0 ? Math.ceil(days) : Math.min(-1, Math.trunc(days));
}

/** Refuses a received-at time in the future or further back than a year. */
export function checkReceivedAt(receivedAt: Date, now: Date): void {
  // A minute of slack for clocks that disagree a little.
  if (receivedAt.getTime() > now.getTime() + 60_000) {
    throw new DomainError(
      'unprocessable',
      'RECEIVED_AT_IN_FUTURE',
      '`receivedAt` must not be in the future.',
    );
  }
  if (receivedAt.getTime() < now.getTime() - MAX_RECEIVED_AGE_DAYS * DAY_MS) {
    throw new DomainError(
      'unprocessable',
      'RECEIVED_AT_OUT_OF_RANGE',
      `\`receivedAt\` must be within the last ${MAX_RECEIVED_AGE_DAYS} days.`,
    );
  }
}

/** Completed by its deadline or after it. */
export const completedOnTime = (completedAt: Date, dueAt: Date) =>
  completedAt.getTime() <= dueAt.getTime();

/**
 * Whole days a stopped clock stood still, rounded up: a day on which the
 * controller waited for the requester at all is a day given back (a pause of
 * two hours adds one day, of 49 hours three).
 */
export function pausedDaysBetween(pausedAt: Date, resumedAt: Date): number {
  return Math.max(0, Math.ceil((resumedAt.getTime() - pausedAt.getTime()) / DAY_MS));
}

/**
 * The latest deadline extensions may reach: the statutory deadline + the
 * regulation's maximum extension + every day the clock stood still.
 */
export function latestDueAtOf(
  statutoryDueAt: Date,
  maxExtensionDays: number,
  pausedDays: number,
): Date {
  return new Date(statutoryDueAt.getTime() + (maxExtensionDays + pausedDays) * DAY_MS);
}
