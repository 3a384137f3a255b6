import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
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

declare module 'fastify' {
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

/** Refuses, with 403, a caller whose permission set lacks `permission`. */
export function requirePermission(permission: Permission): preHandlerAsyncHookHandler {
  return async (request) => {
    if (!hasPermission(currentUser(request), permission)) {
      throw new DomainError('forbidden', 'FORBIDDEN', `This needs the permission ${permission}.`, {
        permission,
      });
    }
  };
}

export const requireAdmin: preHandlerAsyncHookHandler = async (request) => {
  if (!currentUser(request).isAdmin) {
    throw new DomainError('forbidden', 'FORBIDDEN', 'Only admins can do this.', {
      permission: 'admin',
    });
  }
};

/** Authenticates every request in the scope it is registered in by its bearer API key. */
export default fp(
  async function auth(app: FastifyInstance) {
    const keys = new TtlCache<string, AuthUser>(API_KEY_CACHE_TTL_MS, API_KEY_CACHE_SIZE);
    app.decorate('forgetApiKeys', () => keys.clear());
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
    });
  },
  { name: 'auth', dependencies: ['infrastructure'] },
);
