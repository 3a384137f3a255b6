import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createKlass, createKObject, getKObject, listKlasses } from '../../db/queries/kobjects';
import { ATTRIBUTE_NAME_PATTERN, attributeTypes } from '../../domain/attributes';
import { jsonLimits } from '../../domain/json';
import {
  FreeJson,
  IdParams,
  Name,
  Nullable,
  OneOf,
  problems,
  Timestamp,
  Uuid,
} from '../schemas/common';
import { iso, kobjectView } from '../views';
import { can } from '../plugins/auth';

const KlassName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z][a-z0-9_]*$',
  description: 'A lower-case identifier such as `order`.',
});

const KObjectData = FreeJson(jsonLimits.kobjectData, "The KObject's data (JSON object).");

const Field = Type.Object(
  {
    name: Type.String({ pattern: ATTRIBUTE_NAME_PATTERN }),
    label: Name(200),
    type: OneOf(attributeTypes),
    options: Type.Optional(
      Nullable(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 200 })),
    ),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  },
  { additionalProperties: false },
);

const Fields = Type.Array(Field, {
  maxItems: 100,
  description:
    "Typed fields of the KObjects' `data`, checked as custom attributes are (docs/attributes.md). " +
    'Without fields, a klass takes any data. Fixed once the klass exists.',
});

const Klass = Type.Object({
  id: Uuid,
  name: Type.String(),
  title: Type.String(),
  fields: Nullable(Fields),
  createdAt: Timestamp,
});

const KObject = Type.Object({
  id: Uuid,
  customerId: Uuid,
  klass: Type.String(),
  title: Type.String(),
  data: KObjectData,
  createdAt: Timestamp,
  lastActivityAt: Timestamp,
  pinnedAt: Nullable(Timestamp),
});

const kobjects: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/klasses',
    {
      config: { access: can('kobjects.write') },
      schema: {
        tags: ['kobjects'],
        summary: 'Define a klass (a custom object type)',
        body: Type.Object(
          { name: KlassName, title: Name(200), fields: Type.Optional(Fields) },
          { additionalProperties: false },
        ),
        response: { 201: Klass, ...problems(409) },
      },
    },
    async (request, reply) => {
      const row = await createKlass(app.db, request.body);
      return reply.code(201).send({ ...row, createdAt: iso(row.createdAt) });
    },
  );

  app.get(
    '/klasses',
    {
      config: { access: can('kobjects.read') },
      schema: {
        tags: ['kobjects'],
        summary: 'List klasses',
        response: { 200: Type.Object({ items: Type.Array(Klass) }), ...problems() },
      },
    },
    async () => ({
      items: (await listKlasses(app.db)).map((row) => ({
        ...row,
        createdAt: iso(row.createdAt),
      })),
    }),
  );

  app.post(
    '/customers/:id/kobjects',
    {
      config: { access: can('kobjects.write') },
      schema: {
        tags: ['kobjects'],
        summary: 'Create a KObject on a customer',
        params: IdParams,
        body: Type.Object(
          {
            klass: KlassName,
            title: Name(500),
            data: Type.Optional(KObjectData),
          },
          { additionalProperties: false },
        ),
        response: { 201: KObject, ...problems(404, 422) },
      },
    },
    async (request, reply) => {
      const row = await createKObject(app.db, request.params.id, request.body);
      return reply.code(201).header('location', `/v1/kobjects/${row.id}`).send(kobjectView(row));
    },
  );

  app.get(
    '/kobjects/:id',
    {
      config: { access: can('kobjects.read') },
      schema: {
        tags: ['kobjects'],
        summary: 'Get a KObject',
        params: IdParams,
        response: { 200: KObject, ...problems(404) },
      },
    },
    async (request) => kobjectView(await getKObject(app.db, request.params.id)),
  );
};

export default kobjects;
