import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { findUserByApiKey, hashApiKey, looksLikeApiKey } from '../../db/queries/api-keys';
import { hasPermission, type Permission } from '../../lib/permissions';
import { DomainError } from '../../lib/errors';
import { TtlCache } from '../../lib/ttl-cache';

export interface AuthUser {
  id: string;
  name: string;
  isAdmin: boolean;
  permissions: string[];
}

/**
 * Who may call a route, declared by every route under /v1 as `config.access`:
 * every one of some permissions, admins only, or any caller (for the caller's
 * own data — their notifications, their jobs). Decided before the body is
 * validated, so a caller who may not use a route learns nothing from its
 * validation messages.
 */
export type Access =
  | { readonly kind: 'permissions'; readonly permissions: readonly Permission[] }
  | { readonly kind: 'admin' }
  | { readonly kind: 'anyUser' };

/** The caller needs every one of `permissions`. */
export const can = (...permissions: [Permission, ...Permission[]]): Access => ({
  kind: 'permissions',
  permissions,
});
export const adminOnly: Access = { kind: 'admin' };
/** Any authenticated caller: routes that answer with no personal data, or the caller's own only. */
export const anyUser: Access = { kind: 'anyUser' };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    user: AuthUser | null;
  }
  interface FastifyInstance {
    /** Drops every cached key, so a revocation or permission change made here applies to the next request. */
    forgetApiKeys(): void;
  }
}

/**
 * How long a key that authenticated is trusted without asking Postgres again.
 * A key revoked, or a user whose permissions changed, through another API
 * process stops working (or gets the new permissions) within this time; the
 * process that made the change forgets its cached keys at once.
 */
export const API_KEY_CACHE_TTL_MS = 5_000;
/** Keys cached at most; each entry is a key hash and its user, a few hundred bytes. */
const API_KEY_CACHE_SIZE = 10_000;

const unauthenticated = (detail: string) =>
  new DomainError(
    'unauthenticated',
    'UNAUTHENTICATED',
    detail,
    {},
    { headers: { 'www-authenticate': 'Bearer realm="custodian"' } },
  );

export function currentUser(request: FastifyRequest): AuthUser {
  if (!request.user) throw unauthenticated('This endpoint needs an API key.');
  return request.user;
}

export const forbidden = (permission: Permission) =>
  new DomainError('forbidden', 'FORBIDDEN', `This needs the permission ${permission}.`, {
    permission,
  });

/** Refuses, with 403, a caller who lacks `permission`: for checks that depend on the body or the object. */
export function assertPermission(user: AuthUser, permission: Permission): void {
  if (!hasPermission(user, permission)) throw forbidden(permission);
}

function authorize(user: AuthUser, access: Access): void {
  if (access.kind === 'anyUser' || user.isAdmin) return;
  if (access.kind === 'admin') {
    throw new DomainError('forbidden', 'FORBIDDEN', 'Only admins can do this.', {
      permission: 'admin',
    });
  }
  for (const permission of access.permissions) assertPermission(user, permission);
}

/** The route's access, written into its OpenAPI operation (as the bearer scheme's roles) and summary. */
function declareAccess(route: RouteOptions): void {
  const access = route.config?.access;
  if (!access) {
    throw new Error(
      `${String(route.method)} ${route.url} declares no config.access: every /v1 route says who may call it`,
    );
  }
  const schema = (route.schema ??= {}) as { security?: unknown; description?: string };
  const needs =
    access.kind === 'admin'
      ? 'Admins only.'
      : access.kind === 'anyUser'
        ? "Any API key: it answers with no personal data, or the caller's own."
        : `Needs ${access.permissions.map((p) => `\`${p}\``).join(' and ')}.`;
  const roles =
    access.kind === 'permissions'
      ? [...access.permissions]
      : access.kind === 'admin'
        ? ['admin']
        : [];
  schema.security = [{ apiKey: roles }];
  // Fastify calls this again for the HEAD route it derives from a GET, with the same schema.
  if (schema.description?.startsWith(needs)) return;
  schema.description = schema.description ? `${needs}\n\n${schema.description}` : needs;
}

/** Authenticates every request in the scope it is registered in by its bearer API key. */
export default fp(
  async function auth(app: FastifyInstance) {
    const keys = new TtlCache<string, AuthUser>(API_KEY_CACHE_TTL_MS, API_KEY_CACHE_SIZE);
    app.decorate('forgetApiKeys', () => keys.clear());
    app.addHook('onRoute', declareAccess);
    app.decorateRequest('user', null);
    app.addHook('onRequest', async (request) => {
      const header = request.headers.authorization;
      if (!header) throw unauthenticated('Send an API key as `Authorization: Bearer <key>`.');
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match?.[1]) throw unauthenticated('The Authorization header must be `Bearer <key>`.');
      const key = match[1];
      if (!looksLikeApiKey(key)) throw unauthenticated('That is not a Custodian API key.');
      // Only keys that worked are cached: unknown ones cannot crowd them out.
      const hash = hashApiKey(key);
      let user = keys.get(hash);
      if (!user) {
        user = await findUserByApiKey(app.db, key);
        if (!user) throw unauthenticated('The API key is unknown or revoked.');
        keys.set(hash, user);
      }
      request.user = user;
      // A request for no route (404, 405) has no access to decide.
      const access = request.routeOptions.config.access;
      if (access) authorize(user, access);
    });
  },
  { name: 'auth', dependencies: ['infrastructure'] },
);
