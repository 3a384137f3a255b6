import { Type, type TSchema } from 'typebox';

export const Uuid = Type.String({ format: 'uuid' });

/** A string schema that accepts exactly the given values (an enum in OpenAPI). */
export const OneOf = <T extends readonly string[]>(values: T) =>
  Type.Union(values.map((v) => Type.Literal(v)));
export const Timestamp = Type.String({ format: 'date-time' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Attributes = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
  description: 'Free-form custom attributes (JSON object).',
});

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

type ProblemStatus = 400 | 401 | 403 | 404 | 405 | 409 | 422 | 503;

/** The problem responses a route can give, for its schema and the OpenAPI document. */
export function problems(...statuses: ProblemStatus[]) {
  return Object.fromEntries([400, 401, ...statuses].map((status) => [status, Problem])) as Record<
    ProblemStatus,
    typeof Problem
  >;
}

export const NoContent = Type.Null({ description: 'No content' });
