/**
 * A refusal the domain knows how to explain. The API turns it into a
 * problem+json response; an activity turns it into a non-retryable
 * ApplicationFailure whose `type` is the same code.
 */
export type DomainErrorKind = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'unprocessable';

export class DomainError extends Error {
  override name = 'DomainError';

  constructor(
    readonly kind: DomainErrorKind,
    /** Stable, machine-readable; part of the API contract. */
    readonly code: string,
    message: string,
    /** Extra members for the problem document (IDs and counts, never personal data). */
    readonly details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const notFound = (what: string, id: string) =>
  new DomainError(
    'not_found',
    `${what.toUpperCase().replaceAll(' ', '_')}_NOT_FOUND`,
    `No ${what.toLowerCase()} has the ID ${id}.`,
    {
      id,
    },
  );
