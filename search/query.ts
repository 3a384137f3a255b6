/**
 * Running a search: the rules for filters, sorting and queries live here once,
 * for the search endpoints and saved searches. An erasure of "every object
 * matching this search" takes its filter and phone-number rules from here but
 * matches exactly, in Postgres (operations/erasure-selection.ts), not here.
 */
import type { Meilisearch } from 'meilisearch';
import { keyDigits, phoneKeyOfText, type PhoneRegion } from '../domain/phones';
import { listTypes, timeOf, type AttributeRule } from '../domain/attributes';
import { DomainError } from '../lib/errors';
import type { ConversationDocument, CustomerDocument, KObjectDocument } from './documents';
import { indexDefinitions, indexUid, type SearchIndexName } from './indexes';

/** The customer attributes a search may filter on, by name (a Map: user-given names). */
export type FilterableAttributes = ReadonlyMap<string, AttributeRule & { filterable: boolean }>;

export interface SearchRequest {
  q: string;
  filters: Record<string, string>;
  /** The attribute definitions `attr.<name>` filters are checked against (customers only). */
  attributes?: FilterableAttributes | undefined;
  sort?: string | undefined;
  limit: number;
  offset: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KLASS = /^[a-z][a-z0-9_]*$/;
const PHONE_LIKE = /^\+?[\d\s().-]{6,}$/;

/** A filter on a custom attribute: `attr.<name>` (customers only). */
export const ATTRIBUTE_FILTER_PREFIX = 'attr.';

const operators = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
type Operator = keyof typeof operators | 'between';
const OPERATOR = /^(eq|ne|gt|gte|lt|lte|between):/;

const quoted = (text: string) => `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

/**
 * One `attr.<name>=<op>:<value>` filter as a Meilisearch expression, typed by
 * the attribute's definition: numbers, dates and date-times compare by value
 * (`gt`, `gte`, `lt`, `lte`, `between:<from>,<to>`), everything else by
 * equality (`eq`, the default, and `ne`); a multi-select matches when it
 * holds the value. Values of a list must be among its options.
 */
export function attributeFilterExpression(
  rule: AttributeRule,
  filter: string,
  raw: string,
): string {
  const match = OPERATOR.exec(raw);
  const op: Operator = match ? (match[1] as Operator) : 'eq';
  const text = match ? raw.slice(match[0].length) : raw;
  const path = `attributes.${rule.name}`;
  const refuse = (why: string, extras: Record<string, unknown> = {}) =>
    new DomainError('invalid', 'INVALID_FILTER_VALUE', `${filter}: ${why}`, {
      filter,
      ...extras,
    });
  const ordered = rule.type === 'number' || rule.type === 'date' || rule.type === 'date-time';
  const scalar = (value: string): string => {
    if (rule.type === 'number') {
      const n = value.trim() === '' ? NaN : Number(value);
      if (!Number.isFinite(n)) throw refuse(`"${value}" is not a number.`);
      return String(n);
    }
    if (rule.type === 'date' || rule.type === 'date-time') {
      const millis = timeOf(rule.type, value);
      if (millis === undefined)
        throw refuse(
          `"${value}" is not a ${rule.type === 'date' ? 'date (YYYY-MM-DD)' : 'date-time with a time zone'}.`,
        );
      return String(millis);
    }
    if (rule.type === 'boolean') {
      if (value !== 'true' && value !== 'false') throw refuse('use true or false.');
      return value;
    }
    if (listTypes.includes(rule.type) && !(rule.options ?? []).includes(value)) {
      throw refuse(`"${value}" is not one of the allowed values.`, { allowed: rule.options ?? [] });
    }
    return quoted(value);
  };
  if (!ordered && op !== 'eq' && op !== 'ne') {
    throw refuse(`a ${rule.type} attribute is compared with eq: or ne: only.`);
  }
  if (op === 'between') {
    const parts = text.split(',');
    if (parts.length !== 2) throw refuse('write between:<from>,<to>.');
    return `${path} ${scalar(parts[0]!)} TO ${scalar(parts[1]!)}`;
  }
  return `${path} ${operators[op]} ${scalar(text)}`;
}

function attributeFilter(
  index: SearchIndexName,
  name: string,
  value: string,
  attributes: FilterableAttributes | undefined,
): string {
  const attribute = name.slice(ATTRIBUTE_FILTER_PREFIX.length);
  const rule = index === 'customers' ? attributes?.get(attribute) : undefined;
  if (!rule) {
    throw new DomainError(
      'invalid',
      'UNKNOWN_FILTER',
      `The ${index} search has no filter "${name}": no customer attribute "${attribute}" is defined.`,
      { filter: name },
    );
  }
  if (!rule.filterable) {
    throw new DomainError(
      'invalid',
      'ATTRIBUTE_NOT_FILTERABLE',
      `The attribute "${attribute}" is not filterable; an admin can make it so (PATCH /v1/attribute-definitions/{id}).`,
      { filter: name, attribute },
    );
  }
  return attributeFilterExpression(rule, name, value);
}

/** Meilisearch filter expressions for validated filters; refuses unknown filters and values. */
export function filterExpressions(
  index: SearchIndexName,
  filters: Record<string, string>,
  attributes?: FilterableAttributes,
): string[] {
  const definitions = indexDefinitions[index].filters;
  return Object.entries(filters).map(([name, value]) => {
    if (name.startsWith(ATTRIBUTE_FILTER_PREFIX))
      return attributeFilter(index, name, value, attributes);
    // A user-given name: `toString` or `constructor` must not find Object.prototype.
    const definition = Object.hasOwn(definitions, name) ? definitions[name] : undefined;
    if (!definition) {
      throw new DomainError(
        'invalid',
        'UNKNOWN_FILTER',
        `The ${index} search has no filter "${name}".`,
        {
          filter: name,
          allowed: Object.keys(definitions),
        },
      );
    }
    const { kind } = definition;
    const valid =
      kind === 'uuid'
        ? UUID.test(value)
        : kind === 'klass'
          ? KLASS.test(value)
          : kind.includes(value);
    if (!valid) {
      throw new DomainError(
        'invalid',
        'INVALID_FILTER_VALUE',
        `"${value}" is not a valid value for the filter ${name}.`,
        {
          filter: name,
        },
      );
    }
    // Values are validated above, so quoting cannot be escaped.
    return `${definition.attribute} = "${value}"`;
  });
}

export function sortExpressions(
  index: SearchIndexName,
  sort: string | undefined,
): string[] | undefined {
  if (!sort) return undefined;
  const [attribute, direction = 'desc'] = sort.split(':');
  if (
    !attribute ||
    !indexDefinitions[index].sorts.includes(attribute) ||
    !['asc', 'desc'].includes(direction)
  ) {
    throw new DomainError(
      'invalid',
      'INVALID_SORT',
      `Sort ${index} by one of ${indexDefinitions[index].sorts.join(', ')}, then :asc or :desc.`,
    );
  }
  return [`${attribute}:${direction}`];
}

/**
 * A query that looks like a phone number, as the digits of its key
 * (domain/phones.ts: its E.164 form, read in `region` without a country
 * code), which is how phone numbers are indexed; else undefined.
 */
export function phoneQueryDigits(q: string, region: PhoneRegion): string | undefined {
  const trimmed = q.trim();
  return PHONE_LIKE.test(trimmed) ? keyDigits(phoneKeyOfText(trimmed, region)) : undefined;
}

/** Phone numbers are indexed as the digits of their key; an email or phone must match as a whole. */
function interpretQuery(q: string, region: PhoneRegion): { q: string; exact: boolean } {
  const trimmed = q.trim();
  const digits = phoneQueryDigits(trimmed, region);
  if (digits !== undefined) return { q: digits, exact: true };
  return { q: trimmed, exact: trimmed.includes('@') };
}

const iso = (millis: number) => new Date(millis).toISOString();

const views = {
  customers: (d: CustomerDocument) => ({
    id: d.id,
    name: d.name,
    email: d.emails[0] ?? null,
    phone: d.phones[0] ?? null,
    externalId: d.externalId,
    companyId: d.companyId,
    companyName: d.companyName,
    lastActivityAt: iso(d.lastActivityAt),
  }),
  conversations: (d: ConversationDocument) => ({
    id: d.id,
    subject: d.subject,
    channel: d.channel,
    status: d.status,
    customerId: d.customerId,
    customerName: d.customerName,
    companyId: d.companyId,
    lastActivityAt: iso(d.lastActivityAt),
  }),
  kobjects: (d: KObjectDocument) => ({
    id: d.id,
    title: d.title,
    klass: d.klass,
    customerId: d.customerId,
    customerName: d.customerName,
    companyId: d.companyId,
    lastActivityAt: iso(d.lastActivityAt),
  }),
};

export type SearchHit<I extends SearchIndexName> = ReturnType<(typeof views)[I]>;

export class SearchUnavailableError extends Error {
  override name = 'SearchUnavailableError';
}

export async function runSearch<I extends SearchIndexName>(
  meili: Meilisearch,
  prefix: string,
  index: I,
  request: SearchRequest,
  /** Where a phone number in `q` without a country code is read (config.phoneDefaultRegion). */
  phoneRegion: PhoneRegion,
): Promise<{ hits: SearchHit<I>[]; total: number; limit: number; offset: number }> {
  const filter = filterExpressions(index, request.filters, request.attributes);
  const sort = sortExpressions(index, request.sort);
  const { q, exact } = interpretQuery(request.q, phoneRegion);
  let response;
  try {
    response = await meili.index(indexUid(prefix, index)).search(q, {
      filter,
      ...(sort ? { sort } : {}),
      limit: request.limit,
      offset: request.offset,
      ...(exact ? { matchingStrategy: 'all' as const } : {}),
    });
  } catch (cause) {
    throw new SearchUnavailableError('Search is unavailable right now; try again shortly.', {
      cause,
    });
  }
  const view = views[index] as unknown as (document: never) => SearchHit<I>;
  return {
    hits: response.hits.map((hit) => view(hit as never)),
    total: response.estimatedTotalHits ?? response.hits.length,
    limit: request.limit,
    offset: request.offset,
  };
}
