/**
 * The rules of taking a merge back from its target: which of the target's
 * fields the merge filled (or added to) can be returned to what they were,
 * and which the target has changed since, so they stay as they are now.
 *
 * Rows are customers rows as Postgres' `to_jsonb` spells them (snake_case
 * columns, JSON values), so "unchanged since the merge" is a comparison of
 * two values read the same way.
 */
import { emailKey, type EmailAddress, type PhoneNumber, type SocialHandle } from './contacts';
import { phoneKey } from './phones';

export type CustomerJson = Record<string, unknown>;

/** A field (or one custom attribute, `customAttributes.<key>`) left as the target has it now. */
export interface KeptField {
  field: string;
  reason: 'CHANGED_SINCE';
}

export interface TakeBack {
  /** The target's columns to write, by column name; absent: left as it is. */
  columns: CustomerJson;
  /** What goes back to the source, as the API names the fields. */
  emails: string[];
  phones: string[];
  fields: string[];
  kept: KeptField[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

const scalarFields = { name: 'name', company_id: 'companyId', external_id: 'externalId' } as const;

const listFields = {
  emails: { field: 'emails', key: (e: unknown) => emailKey((e as EmailAddress).address) },
  phones: { field: 'phones', key: (p: unknown) => phoneKey(p as PhoneNumber) },
  social_handles: {
    field: 'socialHandles',
    key: (h: unknown) =>
      `${(h as SocialHandle).network.toLowerCase()}\n${(h as SocialHandle).handle.toLowerCase()}`,
  },
  websites: { field: 'websites', key: (w: unknown) => String(w).toLowerCase() },
} as const;

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

/**
 * What to write to the target so the merge's additions leave it: a field the
 * merge filled goes back to its value before the merge while the target still
 * holds what the merge wrote; contact points and websites the merge added are
 * removed one by one wherever they still are; anything else changed since is
 * kept and reported.
 */
export function takeBack(
  before: CustomerJson,
  after: CustomerJson,
  current: CustomerJson,
): TakeBack {
  const columns: CustomerJson = {};
  const result: TakeBack = { columns, emails: [], phones: [], fields: [], kept: [] };

  for (const [column, field] of Object.entries(scalarFields)) {
    if (same(before[column], after[column])) continue;
    if (same(current[column], after[column])) {
      columns[column] = before[column] ?? null;
      result.fields.push(field);
    } else result.kept.push({ field, reason: 'CHANGED_SINCE' });
  }

  for (const [column, { field, key }] of Object.entries(listFields)) {
    const had = new Set(list(before[column]).map(key));
    const added = new Set(
      list(after[column])
        .map(key)
        .filter((k) => !had.has(k)),
    );
    if (added.size === 0) continue;
    const now = list(current[column]);
    const goingBack = now.filter((item) => added.has(key(item)));
    if (goingBack.length === 0) continue;
    // Unchanged since the merge: exactly the list before it, preferred flags included.
    columns[column] = same(now, after[column])
      ? list(before[column])
      : now.filter((item) => !added.has(key(item)));
    if (column === 'emails') result.emails = goingBack.map((e) => (e as EmailAddress).address);
    else if (column === 'phones') result.phones = goingBack.map((p) => (p as PhoneNumber).number);
    else result.fields.push(field);
  }

  const attributesBefore = record(before.custom_attributes);
  const attributesAfter = record(after.custom_attributes);
  const attributes = new Map(Object.entries(record(current.custom_attributes)));
  let attributesChanged = false;
  for (const [key, value] of Object.entries(attributesAfter)) {
    if (same(attributesBefore[key], value)) continue;
    const field = `customAttributes.${key}`;
    if (!same(attributes.get(key), value)) {
      result.kept.push({ field, reason: 'CHANGED_SINCE' });
      continue;
    }
    if (Object.hasOwn(attributesBefore, key)) attributes.set(key, attributesBefore[key]);
    else attributes.delete(key);
    attributesChanged = true;
    result.fields.push(field);
  }
  if (attributesChanged) columns.custom_attributes = Object.fromEntries(attributes);

  // The merge kept the later of the two activity times; it goes back while nothing newer happened.
  if (same(current.last_activity_at, after.last_activity_at))
    columns.last_activity_at = before.last_activity_at;
  return result;
}
