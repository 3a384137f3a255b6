import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  getAttributeDefinition,
  listAttributeDefinitions,
  type AttributeDefinitionRow,
} from '../../db/queries/attribute-definitions';
import { attributeEntities } from '../../domain/attributes';
import {
  createAttributeDefinition,
  removeAttributeDefinition,
  updateAttributeDefinition,
} from '../../operations/attribute-definitions';
import { jobWorkflowId } from '../../workflows/contracts';
import { jobView, startJobWorkflow } from '../job-control';
import { adminOnly, anyUser, currentUser } from '../plugins/auth';
import {
  AttributeDefinition,
  CreateAttributeDefinitionBody,
  UpdateAttributeDefinitionBody,
} from '../schemas/attributes';
import { IdParams, NoContent, OneOf, problems } from '../schemas/common';
import { IdempotencyHeaders, JobEnvelope } from '../schemas/jobs';
import { iso } from '../views';

const tags = ['attribute definitions'];

const definitionView = (row: AttributeDefinitionRow) => ({
  id: row.id,
  entity: row.entity,
  name: row.name,
  label: row.label,
  type: row.type,
  options: row.options,
  description: row.description,
  searchable: row.searchable,
  filterable: row.filterable,
  status: row.status,
  clearJobId: row.clearJobId,
  createdAt: iso(row.createdAt),
  updatedAt: iso(row.updatedAt),
});

const attributeDefinitions: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/attribute-definitions',
    {
      config: { access: anyUser },
      schema: {
        tags,
        summary: 'List attribute definitions',
        querystring: Type.Object(
          { entity: Type.Optional(OneOf(attributeEntities)) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(AttributeDefinition) }), ...problems() },
      },
    },
    async (request) => ({
      items: (await listAttributeDefinitions(app.db, request.query.entity)).map(definitionView),
    }),
  );

  app.get(
    '/attribute-definitions/:id',
    {
      config: { access: anyUser },
      schema: {
        tags,
        summary: 'Get an attribute definition',
        params: IdParams,
        response: { 200: AttributeDefinition, ...problems(404) },
      },
    },
    async (request) => definitionView(await getAttributeDefinition(app.db, request.params.id)),
  );

  app.post(
    '/attribute-definitions',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Define a custom attribute (admins)',
        description:
          'Values sent in `customAttributes` are then checked against it. 409 ATTRIBUTE_NAME_TAKEN when the entity has ' +
          'an attribute of that name, ATTRIBUTE_BEING_CLEARED while a removed one of that name is being cleared.',
        body: CreateAttributeDefinitionBody,
        response: { 201: AttributeDefinition, ...problems(403, 409) },
      },
    },
    async (request, reply) => {
      const row = await createAttributeDefinition(app.db, currentUser(request).id, request.body);
      return reply
        .code(201)
        .header('location', `/v1/attribute-definitions/${row.id}`)
        .send(definitionView(row));
    },
  );

  app.patch(
    '/attribute-definitions/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Change an attribute definition (admins)',
        description:
          'A type change while values exist is refused 409 ATTRIBUTE_HAS_VALUES with their `count`; removing an ' +
          'option some value holds, 409 ATTRIBUTE_OPTION_IN_USE.',
        params: IdParams,
        body: UpdateAttributeDefinitionBody,
        response: { 200: AttributeDefinition, ...problems(403, 404, 409) },
      },
    },
    async (request) =>
      definitionView(
        await updateAttributeDefinition(
          app.db,
          currentUser(request).id,
          request.params.id,
          request.body,
        ),
      ),
  );

  app.delete(
    '/attribute-definitions/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Remove an attribute definition (admins)',
        description:
          'Without values: 204. With values: 409 ATTRIBUTE_HAS_VALUES with their `count`, unless `clearValues=true`: ' +
          'then 202 with a job (workflow `attribute-clear-<jobId>`) that clears the values in batches and removes ' +
          'the definition; until it completes, writes refuse the attribute and its name cannot be defined again.',
        params: IdParams,
        querystring: Type.Object(
          { clearValues: Type.Optional(Type.Boolean({ default: false })) },
          { additionalProperties: false },
        ),
        headers: IdempotencyHeaders,
        response: { 202: JobEnvelope, 204: NoContent, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const idempotencyKey = request.headers['idempotency-key'];
      const outcome = await removeAttributeDefinition(app.db, user.id, request.params.id, {
        clearValues: request.query.clearValues ?? false,
        idempotencyKey,
        workflowIdOf: (jobId) => jobWorkflowId('attribute_clear', jobId),
      });
      if (outcome.removed) return reply.code(204).send(null);
      const job = await startJobWorkflow(app, outcome.job, {
        type: 'attribute_clear',
        user,
        params: outcome.job.params,
        customerIds: [],
        summary: `Clear attribute ${String(outcome.job.params.attribute)} (${String(outcome.job.params.entity)})`,
        idempotencyKey,
      });
      return reply.code(202).send({ job: jobView(app, job) });
    },
  );
};

export default attributeDefinitions;
