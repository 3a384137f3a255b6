/**
 * A refusal the domain knows how to explain. The API turns it into a
 * problem+json response whose status comes from its `kind` (one table, in
 * api/plugins/errors.ts); an activity turns it into a non-retryable
 * ApplicationFailure whose `type` is the code and whose details keep the kind,
 * so a refusal that crossed a workflow still answers with the same status.
 */
export const domainErrorKinds = [
  'invalid',
  'unauthenticated',
  'forbidden',
  'not_found',
  'not_allowed',
  'conflict',
  /** Existed, and is gone for good (an expired export). */
  'gone',
  'unprocessable',
  'unavailable',
] as const;
export type DomainErrorKind = (typeof domainErrorKinds)[number];

export const isDomainErrorKind = (value: unknown): value is DomainErrorKind =>
  typeof value === 'string' && (domainErrorKinds as readonly string[]).includes(value);

export class DomainError extends Error {
  override name = 'DomainError';

  constructor(
    readonly kind: DomainErrorKind,
    /** Stable, machine-readable; part of the API contract. */
    readonly code: string,
    message: string,
    /** Extra members for the problem document (IDs and counts, never personal data). */
    readonly details: Record<string, unknown> = {},
    options?: ErrorOptions & { headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers ?? {};
  }

  /** Response headers that go with the refusal (`WWW-Authenticate`, `Retry-After`, `Allow`). */
  readonly headers: Record<string, string>;
}

export const notFound = (what: string, id: string) =>
  new DomainError(
    'not_found',
    `${what.toUpperCase().replaceAll(' ', '_')}_NOT_FOUND`,
    `No ${what.toLowerCase()} has the ID ${id}.`,
    { id },
  );

/** The services whose outage the API reports as `503 <SERVICE>_UNAVAILABLE`. */
export type Dependency = 'database' | 'temporal' | 'search';

const RETRY_AFTER_SECONDS = 5;

const outageDetails: Record<Dependency, string> = {
  database: 'The database is unreachable right now. Try again shortly.',
  temporal: 'The job engine (Temporal) is unreachable right now. Try again shortly.',
  search: 'Search is unavailable right now. Try again shortly.',
};

/**
 * The one shape of "a service we depend on is down": 503 with a code naming
 * the service and a `Retry-After`, so clients back off alike for each.
 */
export const serviceUnavailable = (dependency: Dependency, cause?: unknown) =>
  new DomainError(
    'unavailable',
    `${dependency.toUpperCase()}_UNAVAILABLE`,
    outageDetails[dependency],
    {},
    { cause, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } },
  );
