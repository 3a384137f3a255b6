/**
 * The bounds of an engagement event, in one place for the API's schema, its
 * checks beyond JSON Schema, and the documentation.
 */

/** lower_snake: a letter, then letters, digits and underscores, at most 64 characters. */
export const EVENT_TYPE_PATTERN = '^[a-z][a-z0-9_]{0,63}$';
export const MAX_EVENTS_PER_BATCH = 1000;
/** Serialized JSON size of one event's properties, in bytes. */
export const MAX_PROPERTIES_BYTES = 16 * 1024;
/** Nesting depth of one event's properties; the object itself is depth 1. */
export const MAX_PROPERTIES_DEPTH = 10;
export const MAX_EXTERNAL_ID_LENGTH = 200;
/** Events may be stamped a little ahead of our clock (the sender's clock drifts). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const EARLIEST = Date.UTC(1970, 0, 1);

// Postgres text and jsonb cannot hold the NUL character.
const NUL_REFUSED = 'must not contain the NUL character (\\u0000)';

export interface EventIssue {
  /** JSON pointer into the request body, e.g. `/events/17/occurredAt`. */
  path: string;
  message: string;
}

/** How deeply `value` nests objects and arrays (a scalar is 0, `{}` is 1), counting no further than `limit + 1`. */
function depthOf(value: unknown, limit: number): number {
  let depth = 0;
  let level: unknown[] = [value];
  while (depth <= limit) {
    const containers = level.filter((v): v is object => v !== null && typeof v === 'object');
    if (containers.length === 0) break;
    depth += 1;
    level = containers.flatMap((v) => Object.values(v as Record<string, unknown>));
  }
  return depth;
}

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, v]) => key.includes('\u0000') || containsNul(v));
}

/**
 * What JSON Schema cannot say about a batch: time bounds relative to `now`,
 * and the size and depth of properties. Returns every issue, each naming its event.
 */
export function eventIssues(
  events: readonly {
    occurredAt: string;
    properties?: Record<string, unknown> | undefined;
    externalId?: string | undefined;
  }[],
  now: Date,
): EventIssue[] {
  const latest = now.getTime() + MAX_CLOCK_SKEW_MS;
  const issues: EventIssue[] = [];
  events.forEach((event, index) => {
    const at = Date.parse(event.occurredAt);
    if (Number.isNaN(at) || at < EARLIEST || at > latest) {
      issues.push({
        path: `/events/${index}/occurredAt`,
        message: 'must be between 1970-01-01T00:00:00Z and 5 minutes from now',
      });
    }
    if (event.externalId?.includes('\u0000')) {
      issues.push({ path: `/events/${index}/externalId`, message: NUL_REFUSED });
    }
    if (event.properties === undefined) return;
    if (depthOf(event.properties, MAX_PROPERTIES_DEPTH) > MAX_PROPERTIES_DEPTH) {
      issues.push({
        path: `/events/${index}/properties`,
        message: `must not nest deeper than ${MAX_PROPERTIES_DEPTH} levels`,
      });
      return;
    }
    const json = JSON.stringify(event.properties);
    if (Buffer.byteLength(json) > MAX_PROPERTIES_BYTES) {
      issues.push({
        path: `/events/${index}/properties`,
        message: `must be at most ${MAX_PROPERTIES_BYTES} bytes as JSON`,
      });
    } else if (containsNul(event.properties)) {
      issues.push({ path: `/events/${index}/properties`, message: NUL_REFUSED });
    }
  });
  return issues;
}
