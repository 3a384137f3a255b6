import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { issueApiKey } from '../../db/queries/api-keys';
import {
  createUser,
  getUser,
  listApiKeys,
  listUsers,
  revokeApiKey,
  updateUser,
  type UserRow,
} from '../../db/queries/users';
import { DomainError } from '../../lib/errors';
import { adminOnly, anyUser, currentUser } from '../plugins/auth';
import { iso, isoOrNull } from '../views';
import { IdParams, Name, NoContent, Nullable, problems, Timestamp, Uuid } from '../schemas/common';

const tags = ['users'];

const PermissionSetIds = Type.Array(Uuid, {
  maxItems: 100,
  description:
    "The user's permission sets, replacing the ones held; their permissions are the union.",
});

const User = Type.Object({
  id: Uuid,
  name: Type.String(),
  email: Type.String(),
  isAdmin: Type.Boolean({ description: 'Admins hold every permission.' }),
  permissionSets: Type.Array(Type.Object({ id: Uuid, name: Type.String() })),
  permissions: Type.Array(Type.String(), {
    description: 'What the user may do: the union of their permission sets.',
  }),
  createdAt: Timestamp,
});

const ApiKey = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it.' }),
  createdAt: Timestamp,
  lastUsedAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
});

const userView = (row: UserRow) => ({
  id: row.id,
  name: row.name,
  email: row.email,
  isAdmin: row.isAdmin,
  permissionSets: row.permissionSets,
  permissions: row.permissions,
  createdAt: iso(row.createdAt),
});

const users: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/me',
    {
      config: { access: anyUser },
      schema: {
        tags,
        summary: 'The user the API key belongs to',
        response: { 200: User, ...problems() },
      },
    },
    async (request) => userView(await getUser(app.db, currentUser(request).id)),
  );

  app.post(
    '/users',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Create a user with permission sets (admin)',
        body: Type.Object(
          {
            name: Name(200),
            email: Type.String({ format: 'email', maxLength: 320 }),
            isAdmin: Type.Optional(Type.Boolean()),
            permissionSetIds: Type.Optional(PermissionSetIds),
          },
          { additionalProperties: false },
        ),
        response: { 201: User, ...problems(403, 409, 422) },
      },
    },
    async (request, reply) => {
      return reply.code(201).send(userView(await createUser(app.db, request.body)));
    },
  );

  app.patch(
    '/users/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: "Change a user's name, admin flag or permission sets (admin)",
        description:
          'Permission sets given replace the ones held (422 PERMISSION_SET_NOT_FOUND for an unknown one); ' +
          'admins cannot take their own admin flag (422 CANNOT_DEMOTE_SELF).',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name(200)),
            isAdmin: Type.Optional(Type.Boolean()),
            permissionSetIds: Type.Optional(PermissionSetIds),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: User, ...problems(403, 404, 422) },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (request.body.isAdmin === false && id === currentUser(request).id) {
        throw new DomainError(
          'unprocessable',
          'CANNOT_DEMOTE_SELF',
          'Admins cannot take their own admin flag; ask another admin.',
        );
      }
      const updated = await updateUser(app.db, id, request.body);
      app.forgetApiKeys();
      return userView(updated);
    },
  );

  app.get(
    '/users',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'List users (admin)',
        response: { 200: Type.Object({ items: Type.Array(User) }), ...problems(403) },
      },
    },
    async () => ({ items: (await listUsers(app.db)).map(userView) }),
  );

  app.get(
    '/users/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Get a user (admin)',
        params: IdParams,
        response: { 200: User, ...problems(403, 404) },
      },
    },
    async (request) => userView(await getUser(app.db, request.params.id)),
  );

  app.post(
    '/users/:id/api-keys',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Issue an API key (admin); the key is shown once',
        params: IdParams,
        body: Type.Object({ name: Name(100) }, { additionalProperties: false }),
        response: {
          201: Type.Object({
            id: Uuid,
            name: Type.String(),
            prefix: Type.String(),
            createdAt: Timestamp,
            key: Type.String({ description: 'Shown only in this response; store it now.' }),
          }),
          ...problems(403, 404),
        },
      },
    },
    async (request, reply) => {
      await getUser(app.db, request.params.id);
      const issued = await issueApiKey(app.db, request.params.id, request.body.name);
      return reply.code(201).send({ ...issued, createdAt: iso(issued.createdAt) });
    },
  );

  app.get(
    '/users/:id/api-keys',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: "List a user's API keys (admin); the keys themselves are never shown again",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(ApiKey) }), ...problems(403, 404) },
      },
    },
    async (request) => {
      await getUser(app.db, request.params.id);
      const keys = await listApiKeys(app.db, request.params.id);
      return {
        items: keys.map((key) => ({
          ...key,
          createdAt: iso(key.createdAt),
          lastUsedAt: isoOrNull(key.lastUsedAt),
          revokedAt: isoOrNull(key.revokedAt),
        })),
      };
    },
  );

  app.delete(
    '/users/:id/api-keys/:keyId',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Revoke an API key (admin)',
        params: Type.Object({ id: Uuid, keyId: Uuid }),
        response: { 204: NoContent, ...problems(403, 404) },
      },
    },
    async (request, reply) => {
      await revokeApiKey(app.db, request.params.id, request.params.keyId);
      app.forgetApiKeys();
      return reply.code(204).send(null);
    },
  );
};

export default users;
