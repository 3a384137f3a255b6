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

/**
 * What may be said of an error anywhere it goes (a log line, an activity
 * failure kept in Temporal's history): its class, a machine code, and for a
 * Postgres error its SQLSTATE and constraint. Never its message, `detail`,
 * `where`, stack or causes: a driver's message quotes the statement's
 * parameters, a `detail` the offending row, and Temporal keeps failures where
 * an erasure cannot reach them.
 */
export interface ErrorDescription {
  /** `DatabaseError`, `TypeError`, `AggregateError`… (for a Postgres error, the driver's class). */
  errorClass: string;
  /** A machine code along the error's causes: `ECONNREFUSED`, `EENVELOPE`, `index_not_found`, a gRPC status. */
  code?: string;
  sqlState?: string;
  constraint?: string;
}

/** An identifier-like token: codes and class names look like this, names and addresses do not. */
const TOKEN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const token = (value: unknown) =>
  (typeof value === 'string' && TOKEN.test(value)) || Number.isInteger(value)
    ? String(value)
    : undefined;

/** The error, its causes and (an AggregateError's) inner errors, nearest first. */
function* errorChain(error: unknown, depth = 0): Generator<object> {
  if (depth > 5 || typeof error !== 'object' || error === null) return;
  yield error;
  yield* errorChain((error as { cause?: unknown }).cause, depth + 1);
  if (error instanceof AggregateError) {
    for (const inner of error.errors.slice(0, 3)) yield* errorChain(inner, depth + 1);
  }
}

/** The class's own name first: `pg` names its DatabaseError instances 'error'. */
function classOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return typeof error;
  const constructorName = token(error.constructor?.name);
  return (
    (constructorName !== 'Object' ? constructorName : undefined) ??
    token((error as { name?: unknown }).name) ??
    'Object'
  );
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

export function describeError(error: unknown): ErrorDescription {
  const pg = pgErrorOf(error);
  const description: ErrorDescription = { errorClass: classOf(pg ?? error) };
  if (pg) {
    if (SQLSTATE.test(pg.code)) description.sqlState = pg.code;
    const constraint = token(pg.constraint);
    if (constraint) description.constraint = constraint;
  }
  for (const link of errorChain(error)) {
    if (link === pg) continue;
    const code = token((link as { code?: unknown }).code);
    if (code) {
      description.code = code;
      break;
    }
  }
  return description;
}

/** `DatabaseError (SQLSTATE 40P01, constraint jobs_pkey)`, `Error (code ECONNREFUSED)`, `TypeError`. */
export function describeErrorLine(error: unknown): string {
  const { errorClass, code, sqlState, constraint } = describeError(error);
  const facts = [
    sqlState && `SQLSTATE ${sqlState}`,
    constraint && `constraint ${constraint}`,
    code && `code ${code}`,
  ].filter(Boolean);
  return facts.length > 0 ? `${errorClass} (${facts.join(', ')})` : errorClass;
}

/**
 * Where an error was thrown: the `at …` lines of its stack, without the first
 * line (which repeats the message). Code locations only, no data.
 */
/** An Error, also one made in another realm (the workflow sandbox's errors are). */
export const isError = (value: unknown): value is Error =>
  value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';

export function stackFramesOf(error: unknown): string {
  if (!isError(error) || typeof error.stack !== 'string') return '';
  // V8 writes `${name}: ${message}` and then the frames; a message may hold
  // lines of its own (a message body quoted by the driver), so cut it whole.
  const head = String(error);
  if (!error.stack.startsWith(head)) return '';
  return error.stack.slice(head.length).replace(/^\n/, '');
}

/** Whether `error` is Postgres refusing with `sqlstate`, on `constraint` when one is named. */
const violates =
  (sqlstate: string) =>
  (error: unknown, constraint?: string): boolean => {
    const pg = pgErrorOf(error);
    return pg?.code === sqlstate && (constraint === undefined || pg.constraint === constraint);
  };

export const isUniqueViolation = violates('23505');
export const isForeignKeyViolation = violates('23503');

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
