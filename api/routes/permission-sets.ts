import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  createPermissionSet,
  deletePermissionSet,
  getPermissionSet,
  listPermissionSets,
  updatePermissionSet,
  type PermissionSetRow,
} from '../../db/queries/permission-sets';
import {
  assertCoherentPermissions,
  permissionDescriptions,
  permissionRequires,
  permissions,
} from '../../lib/permissions';
import { adminOnly, anyUser } from '../plugins/auth';
import { IdParams, Name, NoContent, OneOf, problems, Timestamp, Uuid } from '../schemas/common';
import { iso } from '../views';

const tags = ['users'];

const Permissions = Type.Array(OneOf(permissions), {
  maxItems: permissions.length,
  description: 'Some permissions need others (GET /v1/permissions lists them).',
});

const PermissionSet = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.String(),
  permissions: Type.Array(Type.String()),
  userCount: Type.Integer({ description: 'Users holding this set.' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const view = (row: PermissionSetRow) => ({
  ...row,
  createdAt: iso(row.createdAt),
  updatedAt: iso(row.updatedAt),
});

const Description = Type.String({ maxLength: 1000 });

const permissionSets: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/permissions',
    {
      config: { access: anyUser },
      schema: {
        tags,
        summary: 'Every permission a permission set can hold, with what it allows',
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                name: Type.String(),
                description: Type.String(),
                requires: Type.Array(Type.String()),
              }),
            ),
          }),
          ...problems(),
        },
      },
    },
    async () => ({
      items: permissions.map((name) => ({
        name,
        description: permissionDescriptions[name],
        requires: [...(permissionRequires[name] ?? [])],
      })),
    }),
  );

  app.post(
    '/permission-sets',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Define a named permission set (admin)',
        body: Type.Object(
          { name: Name(200), description: Type.Optional(Description), permissions: Permissions },
          { additionalProperties: false },
        ),
        response: { 201: PermissionSet, ...problems(403, 409, 422) },
      },
    },
    async (request, reply) => {
      assertCoherentPermissions(request.body.permissions);
      const row = await createPermissionSet(app.db, request.body);
      return reply.code(201).header('location', `/v1/permission-sets/${row.id}`).send(view(row));
    },
  );

  app.get(
    '/permission-sets',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'List permission sets by name (admin)',
        response: { 200: Type.Object({ items: Type.Array(PermissionSet) }), ...problems(403) },
      },
    },
    async () => ({ items: (await listPermissionSets(app.db)).map(view) }),
  );

  app.get(
    '/permission-sets/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Get a permission set (admin)',
        params: IdParams,
        response: { 200: PermissionSet, ...problems(403, 404) },
      },
    },
    async (request) => view(await getPermissionSet(app.db, request.params.id)),
  );

  app.patch(
    '/permission-sets/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary:
          "Rename a permission set or replace its permissions (admin); its users' keys follow at once",
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name(200)),
            description: Type.Optional(Description),
            permissions: Type.Optional(Permissions),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: PermissionSet, ...problems(403, 404, 409, 422) },
      },
    },
    async (request) => {
      if (request.body.permissions) assertCoherentPermissions(request.body.permissions);
      const row = await updatePermissionSet(app.db, request.params.id, request.body);
      app.forgetApiKeys();
      return view(row);
    },
  );

  app.delete(
    '/permission-sets/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Delete a permission set no user holds (admin)',
        description: '409 PERMISSION_SET_IN_USE, with `userCount`, while users hold it.',
        params: IdParams,
        response: { 204: NoContent, ...problems(403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deletePermissionSet(app.db, request.params.id);
      return reply.code(204).send(null);
    },
  );
};

export default permissionSets;
