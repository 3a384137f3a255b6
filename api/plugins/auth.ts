import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { findUserByApiKey, looksLikeApiKey } from '../../db/queries/api-keys';
import { hasPermission, type Permission } from '../../lib/permissions';
import { DomainError } from '../../lib/errors';

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
}

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
    app.decorateRequest('user', null);
    app.addHook('onRequest', async (request) => {
      const header = request.headers.authorization;
      if (!header) throw unauthenticated('Send an API key as `Authorization: Bearer <key>`.');
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match?.[1]) throw unauthenticated('The Authorization header must be `Bearer <key>`.');
      const key = match[1];
      if (!looksLikeApiKey(key)) throw unauthenticated('That is not a Custodian API key.');
      const user = await findUserByApiKey(app.db, key);
      if (!user) throw unauthenticated('The API key is unknown or revoked.');
      request.user = user;
    });
  },
  { name: 'auth', dependencies: ['infrastructure'] },
);
