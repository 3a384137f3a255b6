import { clockParts, isCalendarTime } from './calendar';
import { DomainError } from './errors';

/**
 * Opaque keyset cursors: the sort key of the last item of a page, base64url
 * JSON. Opaque to clients so the sort key can change without breaking them.
 */
export function encodeCursor(values: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/**
 * What each position of a cursor holds: a Postgres timestamp as text, a UUID,
 * any text, a 0/1 flag, or a whole number (a serial ID or position). A cursor is checked against its shape before any
 * value reaches SQL, so a tampered one is refused as a cursor, not as a value.
 */
export type CursorPart = 'timestamp' | 'uuid' | 'text' | 'flag' | 'integer';

type Decoded<S extends readonly CursorPart[]> = {
  [K in keyof S]: S[K] extends 'flag' | 'integer' ? number : string;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** As Postgres prints a timestamptz: `2026-11-24 18:43:32.123456+00`. */
const PG_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

function isTimestamp(value: string): boolean {
  const match = PG_TIMESTAMP.exec(value);
  return match !== null && isCalendarTime(clockParts(match));
}

const fits: Record<CursorPart, (value: unknown) => boolean> = {
  timestamp: (v) => typeof v === 'string' && isTimestamp(v),
  uuid: (v) => typeof v === 'string' && UUID.test(v),
  text: (v) => typeof v === 'string' && v.length <= 1000,
  flag: (v) => v === 0 || v === 1,
  integer: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
};

export function decodeCursor<const S extends readonly CursorPart[]>(
  cursor: string,
  shape: S,
): Decoded<S> {
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(values) &&
      values.length === shape.length &&
      shape.every((part, i) => fits[part](values[i]))
    ) {
      return values as Decoded<S>;
    }
  } catch {
    // fall through to the refusal
  }
  throw new DomainError('invalid', 'INVALID_CURSOR', 'The cursor is not one this API handed out.');
}
