/**
 * Typed custom attributes: what a definition says and the one rule that
 * checks values against definitions. Customers' and companies'
 * `customAttributes` and a klass's KObject `data` are all checked here, by the
 * API before a write and by nothing else, so a value is judged one way only.
 */
import { DomainError } from '../lib/errors';

export const attributeEntities = ['customer', 'company'] as const;
export type AttributeEntity = (typeof attributeEntities)[number];

export const attributeTypes = [
  'text',
  'number',
  'boolean',
  'date',
  'date-time',
  'url',
  'email',
  'select',
  'multi-select',
] as const;
export type AttributeType = (typeof attributeTypes)[number];

/** The types whose values come from `options`. */
export const listTypes: readonly AttributeType[] = ['select', 'multi-select'];

/**
 * A definition's stable name: what API consumers write as the key of
 * `customAttributes` and in search filters (`attr.<name>`). A letter first,
 * then letters, digits and `_`, so it is a safe Meilisearch attribute path too.
 */
export const ATTRIBUTE_NAME_PATTERN = '^[a-z][a-zA-Z0-9_]{0,62}$';

/** What validating and indexing a value needs of its definition. */
export interface AttributeRule {
  name: string;
  type: AttributeType;
  options: string[] | null;
}

/** Bounds on one value: a text longer than this belongs in a conversation. */
export const MAX_TEXT_LENGTH = 2_000;
export const MAX_OPTIONS = 200;
export const MAX_OPTION_LENGTH = 100;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
// The shape of an address, as the API's `format: email` checks one; delivery is not our concern.
const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;

/** Milliseconds since the epoch of a valid date or date-time value, or undefined. */
export function timeOf(type: 'date' | 'date-time', value: string): number | undefined {
  if (type === 'date') {
    const match = DATE.exec(value);
    if (!match) return undefined;
    const millis = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
    // Date.UTC rolls 2026-02-30 over into March: a day that does not exist is refused.
    return new Date(millis).toISOString().slice(0, 10) === value ? millis : undefined;
  }
  if (!DATE_TIME.test(value)) return undefined;
  const millis = Date.parse(value);
  return Number.isNaN(millis) ? undefined : millis;
}

/**
 * Attribute dates are facts about a person or a contract (a birthday, a
 * renewal), so the range is wider than for activity times: 1900 to 2200.
 */
const EARLIEST = Date.UTC(1900, 0, 1);
const LATEST = Date.UTC(2200, 11, 31, 23, 59, 59, 999);
const inTimeRange = (millis: number) => millis >= EARLIEST && millis <= LATEST;

function isUrl(value: string): boolean {
  if (value.length > MAX_TEXT_LENGTH) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Why `value` is not a value of this attribute (a phrase after "must be"), or undefined when it is. */
export function valueProblem(rule: AttributeRule, value: unknown): string | undefined {
  switch (rule.type) {
    case 'text':
      return typeof value === 'string' && value.length <= MAX_TEXT_LENGTH
        ? undefined
        : `a text of at most ${MAX_TEXT_LENGTH} characters`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'true or false';
    case 'date':
    case 'date-time': {
      const millis = typeof value === 'string' ? timeOf(rule.type, value) : undefined;
      if (millis !== undefined && inTimeRange(millis)) return undefined;
      return rule.type === 'date'
        ? 'a date (YYYY-MM-DD) between 1900 and 2200'
        : 'an RFC 3339 date-time with a time zone (2026-03-01T09:30:00Z) between 1900 and 2200';
    }
    case 'url':
      return typeof value === 'string' && isUrl(value) ? undefined : 'an http(s) URL';
    case 'email':
      return typeof value === 'string' && value.length <= 320 && EMAIL.test(value)
        ? undefined
        : 'an email address';
    case 'select':
      return typeof value === 'string' && (rule.options ?? []).includes(value)
        ? undefined
        : 'one of the allowed values';
    case 'multi-select':
      return Array.isArray(value) &&
        value.length <= MAX_OPTIONS &&
        value.every((v) => typeof v === 'string' && (rule.options ?? []).includes(v)) &&
        new Set(value).size === value.length
        ? undefined
        : 'a list of distinct allowed values';
  }
}

/** A list type needs its options, and only a list type has them; returns what to store. */
export function checkOptions(
  type: AttributeType,
  options: string[] | null | undefined,
  field = 'options',
): string[] | null {
  if (!listTypes.includes(type)) {
    if (options && options.length > 0) {
      throw new DomainError(
        'invalid',
        'ATTRIBUTE_OPTIONS_NOT_ALLOWED',
        `${field}: only ${listTypes.join(' and ')} attributes have options; a ${type} attribute has none.`,
        { field },
      );
    }
    return null;
  }
  const list = options ?? [];
  if (
    list.length === 0 ||
    list.length > MAX_OPTIONS ||
    new Set(list).size !== list.length ||
    list.some((o) => o.trim() === '' || o.length > MAX_OPTION_LENGTH)
  ) {
    throw new DomainError(
      'invalid',
      'ATTRIBUTE_OPTIONS_INVALID',
      `${field}: a ${type} attribute needs 1 to ${MAX_OPTIONS} distinct, non-empty options of at most ${MAX_OPTION_LENGTH} characters.`,
      { field },
    );
  }
  return list;
}

/**
 * A klass's field definitions as stored: names distinct, options as their
 * type needs. Refuses with the same codes as attribute definitions.
 */
export function checkFieldDefinitions(
  fields: (Omit<FieldDefinition, 'options'> & { options?: string[] | null | undefined })[],
): FieldDefinition[] {
  const seen = new Set<string>();
  return fields.map((field, i) => {
    if (seen.has(field.name)) {
      throw new DomainError(
        'invalid',
        'FIELD_NAME_REPEATED',
        `fields.${i}.name: the klass already has a field named "${field.name}".`,
        { field: `fields.${i}.name` },
      );
    }
    seen.add(field.name);
    return {
      name: field.name,
      label: field.label,
      type: field.type,
      options: checkOptions(field.type, field.options, `fields.${i}.options`),
      description: field.description ?? null,
    };
  });
}

/** Deep equality of JSON values, for "this attribute is sent back unchanged". */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every(
    (key) =>
      Object.hasOwn(b, key) &&
      sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

export interface AttributeCheck {
  /** Where the attributes sit in the request body, for the problem's `field`. */
  field: string;
  /** Definitions by name (a Map: a user-given key never finds `constructor`). */
  rules: ReadonlyMap<string, AttributeRule>;
  /**
   * The values stored now: an attribute sent back exactly as stored is not
   * judged again, so a row holding values from before its attribute was
   * defined (or whose definition is being cleared) can still be written back
   * as read.
   */
  stored?: Record<string, unknown> | undefined;
  /** Where an unknown name can be defined, for the refusal's text. */
  defineAt?: string | undefined;
}

/** A klass's typed field of KObject `data`: the same kinds of values as custom attributes. */
export interface FieldDefinition extends AttributeRule {
  label: string;
  description?: string | null | undefined;
}

/**
 * The one rule for attribute values: every attribute a write sends must be
 * defined and its value of the defined type (`null` means "no value" and is
 * accepted for any defined attribute). Refuses the first attribute that is
 * not with 400 ATTRIBUTE_UNKNOWN or ATTRIBUTE_INVALID, naming the field and,
 * for a list, the allowed values.
 */
export function checkAttributes(values: Record<string, unknown>, check: AttributeCheck): void {
  const stored = check.stored ?? {};
  for (const [name, value] of Object.entries(values)) {
    if (Object.hasOwn(stored, name) && sameJson(stored[name], value)) continue;
    const field = `${check.field}.${name}`;
    const rule = check.rules.get(name);
    if (!rule) {
      throw new DomainError(
        'invalid',
        'ATTRIBUTE_UNKNOWN',
        `${field}: no attribute named "${name}" is defined. Define it first (${check.defineAt ?? 'POST /v1/attribute-definitions'}).`,
        { field, attribute: name },
      );
    }
    if (value === null) continue;
    const problem = valueProblem(rule, value);
    if (problem) {
      const allowed = listTypes.includes(rule.type) ? (rule.options ?? []) : undefined;
      throw new DomainError(
        'invalid',
        'ATTRIBUTE_INVALID',
        `${field} must be ${problem}` +
          (allowed ? `: ${allowed.map((o) => JSON.stringify(o)).join(', ')}.` : '.'),
        { field, attribute: name, attributeType: rule.type, ...(allowed ? { allowed } : {}) },
      );
    }
  }
}

/**
 * A value as the search index holds it, for typed comparison there: numbers
 * as numbers, dates and date-times as epoch milliseconds, the rest as given.
 * Undefined for a value that does not fit its definition (one stored before
 * the attribute was defined): it is left out of the index rather than guessed.
 */
export function indexValue(
  rule: AttributeRule,
  value: unknown,
): string | number | boolean | string[] | undefined {
  if (value === null || value === undefined || valueProblem(rule, value)) return undefined;
  if (rule.type === 'date' || rule.type === 'date-time') return timeOf(rule.type, value as string);
  return value as string | number | boolean | string[];
}
