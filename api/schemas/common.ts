import { Type, type TSchema } from 'typebox';
import { jsonLimits, type JsonLimits } from '../../domain/json';
import { USER_TIME_RANGE } from '../../domain/time';
import { keywords } from './keywords';

/**
 * A UUID in either case; validation lower-cases it in place (`x-lowercase`),
 * so every handler, query and comparison sees one spelling of an ID.
 */
export const Uuid = Type.String({
  format: 'uuid',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  [keywords.lowercase]: true,
});

/** A string schema that accepts exactly the given values (an enum in OpenAPI). */
export const OneOf = <const T extends readonly string[]>(values: T, options: object = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

/** A time in a response. */
export const Timestamp = Type.String({ format: 'date-time' });

/**
 * A time a user gives us (`createdAt`, `sentAt`, `occurredAt`…): RFC 3339 within
 * the one accepted range of `domain/time.ts`; anything else is a 400 naming the field.
 * Parse the accepted string with `new Date(value)`.
 */
export const UserTime = (description = '') =>
  Type.String({
    format: 'date-time',
    [keywords.userTime]: true,
    description: `${description}${description ? ' ' : ''}Accepted ${USER_TIME_RANGE}.`.trim(),
  });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Free-form JSON object within documented depth and size bounds (`domain/json.ts`). */
export const FreeJson = (limits: JsonLimits, description: string) =>
  Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
    description: `${description} At most ${limits.maxDepth} levels deep and ${limits.maxBytes / 1024} KB as JSON.`,
    [keywords.jsonLimits]: limits,
  });

export const Attributes = FreeJson(
  jsonLimits.attributes,
  'Custom attributes by name, each checked against its definition (GET /v1/attribute-definitions; docs/attributes.md): 400 ATTRIBUTE_UNKNOWN or ATTRIBUTE_INVALID naming the field. A value sent back exactly as stored is not checked again.',
);

/** A name or title: not empty and not only white space. */
export const Name = (maxLength: number, options: object = {}) =>
  Type.String({ minLength: 1, maxLength, pattern: '\\S', ...options });

export const IdParams = Type.Object({ id: Uuid });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: Type.Optional(
    Type.String({ maxLength: 500, description: 'The `nextCursor` of the previous page.' }),
  ),
};

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: Nullable(
      Type.String({ description: 'Pass as `cursor` for the next page; null on the last.' }),
    ),
  });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code.' }),
  },
  { additionalProperties: true, description: 'application/problem+json (RFC 9457)' },
);

type ProblemStatus = 400 | 401 | 403 | 404 | 405 | 409 | 410 | 422 | 503;

/**
 * The problem responses a route can give, for its schema and the OpenAPI
 * document. Every route may answer 503 while a service it needs is down.
 */
export function problems(...statuses: ProblemStatus[]) {
  return Object.fromEntries(
    [400, 401, 503, ...statuses].map((status) => [status, Problem]),
  ) as Record<ProblemStatus, typeof Problem>;
}

export const NoContent = Type.Null({ description: 'No content' });
