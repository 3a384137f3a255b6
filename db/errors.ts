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
