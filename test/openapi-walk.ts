/**
 * Every operation the API documents, read from its own OpenAPI document, and
 * a way to call each with IDs that name nobody's object: tests walk every
 * route with it instead of listing routes by hand (a new route is walked too).
 */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './helpers';

export interface Operation {
  method: string;
  path: string;
  /** The permissions its security names; empty for routes any key may call. */
  roles: string[];
  hasBody: boolean;
}

/** Every operation under /v1 in the OpenAPI document. */
export async function apiOperations(t: TestApp): Promise<Operation[]> {
  const document = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
    paths: Record<
      string,
      Record<string, { security?: { apiKey: string[] }[]; requestBody?: unknown }>
    >;
  }>();
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        roles: operation.security?.[0]?.apiKey ?? [],
        hasBody: operation.requestBody !== undefined,
      })),
    );
}

/** The operation's URL with a random ID in each parameter: nobody's object. */
export const urlOf = (path: string) => path.replace(/\{[^}]+\}/g, () => randomUUID());

/** Calls an operation as `key` (the admin's by default) with `body` when it takes one. */
export const callOperation = (
  t: TestApp,
  { method, path, hasBody }: Operation,
  { key, body }: { key?: string; body?: unknown } = {},
): Promise<LightMyRequestResponse> =>
  t.call(method as 'GET', urlOf(path), {
    ...(key ? { key } : {}),
    ...(hasBody ? { body: body ?? {} } : {}),
  });

/**
 * A body that gets past validation on many routes: the fields most of them
 * take, each with a value of its usual shape, so the handler (and the stores
 * behind it) is reached rather than only the schema.
 */
export const plausibleBody = () => ({
  name: `Walk ${randomUUID()}`,
  customerId: randomUUID(),
  sourceCustomerId: randomUUID(),
  targetCustomerId: randomUUID(),
  conversationIds: [randomUUID()],
  kobjectIds: [randomUUID()],
  ids: [randomUUID()],
  entity: 'customers',
  confirm: 'DELETE',
  count: 1,
  channel: 'email',
});
