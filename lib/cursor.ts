import { DomainError } from './errors';

/**
 * Opaque keyset cursors: the sort key of the last item of a page, base64url
 * JSON. Opaque to clients so the sort key can change without breaking them.
 */
export function encodeCursor(values: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, length: number): (string | number | null)[] {
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(values) &&
      values.length === length &&
      values.every((v) => v === null || typeof v === 'string' || typeof v === 'number')
    ) {
      return values as (string | number | null)[];
    }
  } catch {
    // fall through to the refusal
  }
  throw new DomainError('invalid', 'INVALID_CURSOR', 'The cursor is not one this API handed out.');
}
