import { DrizzleQueryError } from 'drizzle-orm';

interface PgError {
  code: string;
  constraint?: string;
}

/** The Postgres error behind a driver or Drizzle error, if there is one. */
export function pgErrorOf(error: unknown): PgError | undefined {
  for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
    if (
      typeof current === 'object' &&
      typeof (current as { code?: unknown }).code === 'string' &&
      'severity' in current
    ) {
      return current as unknown as PgError;
    }
  }
  return undefined;
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pg = pgErrorOf(error);
  return pg?.code === '23505' && (constraint === undefined || pg.constraint === constraint);
}

/**
 * SQLSTATEs that mean the server cannot serve anyone right now: connection
 * exceptions (08…), shutting down or starting up (57P01–57P03), out of
 * connections (53300).
 */
const unavailableStates = /^(08...|57P0[1-3]|53300)$/;
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** What `pg` and its pool say when the connection is gone or cannot be had in time. */
const lostConnection =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout)/;

function isConnectionFailure(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isConnectionFailure);
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && networkCodes.has(code)) || lostConnection.test(error.message);
}

/**
 * Whether an error means Postgres is unreachable (refused, lost mid-query,
 * shutting down, pool timed out) rather than that the query was wrong. Only
 * the error itself or the cause of a failed Drizzle query count: a network
 * error deeper down belongs to some other client (a fetch to Meilisearch).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const pg = pgErrorOf(error);
  if (pg) return unavailableStates.test(pg.code);
  return isConnectionFailure(error instanceof DrizzleQueryError ? error.cause : error);
}
