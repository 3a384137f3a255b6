/**
 * The one accepted range for every time a user gives us (a conversation's
 * `createdAt`, a message's `sentAt`, an event's `occurredAt`…): from the Unix
 * epoch to a few minutes in the future, to allow for clock skew. Earlier
 * instants are typos or placeholders (`0001-01-01`), later ones would pin
 * "most recent activity" to that day for good, and leap seconds have no
 * instant a database or a JavaScript Date can hold.
 */
import { clockParts, isCalendarTime } from '../lib/calendar';
import { DomainError } from '../lib/errors';

export const EARLIEST_USER_TIME = '1970-01-01T00:00:00Z';
export const FUTURE_LEEWAY_MINUTES = 5;

/** Said in API docs and refusals alike. */
export const USER_TIME_RANGE = `from ${EARLIEST_USER_TIME} to ${FUTURE_LEEWAY_MINUTES} minutes from now`;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Why a user-given RFC 3339 time is refused, or undefined when it is accepted. */
export function userTimeProblem(value: string, now = Date.now()): string | undefined {
  const parts = RFC3339.exec(value);
  if (!parts) return 'must be an RFC 3339 date-time such as 2026-01-31T09:30:00Z';
  const fields = clockParts(parts);
  if (fields.second === 60) return 'must not be a leap second (use :59)';
  if (!isCalendarTime(fields)) return 'is not a calendar date and time';
  const millis = Date.parse(value.replace(' ', 'T'));
  if (
    Number.isNaN(millis) ||
    millis < Date.parse(EARLIEST_USER_TIME) ||
    millis > now + FUTURE_LEEWAY_MINUTES * 60_000
  ) {
    return `must be ${USER_TIME_RANGE}`;
  }
  return undefined;
}

/** A user-given time as a Date, or a 400 `INVALID_TIME` naming `field`. */
export function parseUserTime(value: string, field: string, now = Date.now()): Date {
  const problem = userTimeProblem(value, now);
  if (problem) {
    throw new DomainError('invalid', 'INVALID_TIME', `${field} ${problem}.`, { field });
  }
  return new Date(Date.parse(value.replace(' ', 'T')));
}
