import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { getSavedSearch } from '../../db/queries/saved-searches';
import { DomainError } from '../../lib/errors';
import {
  assertConfirmed,
  missingObjectError,
  ownerOf,
  type DeletableEntity,
} from '../../operations/delete';
import { cancelBulkJobSignal } from '../../workflows/contracts';
import {
  findOwnJob,
  isFinished,
  jobView,
  refusalOfJob,
  signalCancel,
  startJob,
  waitForJob,
} from '../jobs';
import { currentUser, requirePermission } from '../plugins/auth';
import { IdParams, OneOf, problems, Uuid } from '../schemas/common';
import { IdempotencyHeaders, JobEnvelope, JobIdParams } from '../schemas/jobs';

const Confirmation = Type.Object(
  {
    confirm: Type.Optional(
      Type.String({ maxLength: 20, description: 'Must be exactly "DELETE".' }),
    ),
  },
  { additionalProperties: false },
);

const singles: { path: string; entity: DeletableEntity; noun: string }[] = [
  { path: 'customers', entity: 'customer', noun: 'customer and every trace of its data' },
  { path: 'conversations', entity: 'conversation', noun: 'conversation with its messages' },
  { path: 'kobjects', entity: 'kobject', noun: 'KObject' },
];

const bulkEntities = {
  customers: 'customer',
  conversations: 'conversation',
  kobjects: 'kobject',
} as const;

/** Deletion, one object at a time or in bulk: jobs like every other reshaping of a profile. */
const deletions: FastifyPluginAsyncTypebox = async (app) => {
  // A DELETE without a body is a request that forgot its confirmation, not malformed JSON.
  app.addHook('preValidation', async (request) => {
    if (request.method === 'DELETE' && request.body === undefined) request.body = {};
  });

  for (const { path, entity, noun } of singles) {
    app.delete(
      `/${path}/:id`,
      {
        preHandler: requirePermission('objects.delete'),
        schema: {
          tags: ['deletions'],
          summary: `Delete a ${noun}, permanently`,
          description:
            'Runs a deletion job (workflow `delete-<jobId>`): 200 with the completed job, or 202 with the running ' +
            'job when it takes longer than a few seconds. 422 CONFIRMATION_REQUIRED without `{"confirm": "DELETE"}`.',
          params: IdParams,
          headers: IdempotencyHeaders,
          body: Confirmation,
          response: { 200: JobEnvelope, 202: JobEnvelope, ...problems(403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        assertConfirmed(request.body);
        const { id } = request.params;
        const customerId = await ownerOf(app.db, entity, id);
        if (!customerId) throw await missingObjectError(app.db, entity, id);
        const job = await startJob(app, {
          type: 'delete',
          user: currentUser(request),
          params: { entity, id },
          customerIds: [customerId],
          summary: `Delete ${entity} ${id}`,
          idempotencyKey: request.headers['idempotency-key'],
        });
        const current = await waitForJob(app, job.id, isFinished);
        if (!isFinished(current.status))
          return reply.code(202).send({ job: jobView(app, current) });
        if (current.status !== 'completed') throw refusalOfJob(current);
        return { job: jobView(app, current) };
      },
    );
  }

  const canBulkDelete = [
    requirePermission('searches.read'),
    requirePermission('searches.bulkDelete'),
  ];

  app.post(
    '/bulk-deletes',
    {
      preHandler: canBulkDelete,
      schema: {
        tags: ['deletions'],
        summary: 'Erase many customers, conversations or KObjects in the background',
        description:
          'Explicit `ids` (at most BULK_SELECTION_LIMIT, default 30) or every current match of a saved search ' +
          '(`savedSearchId`, fixed when the job starts). 202 with the job (workflow `bulk-delete-<jobId>`); ' +
          'watch `progress` on the job.',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            entity: OneOf(['customers', 'conversations', 'kobjects'] as const),
            ids: Type.Optional(Type.Array(Uuid, { maxItems: 10_000 })),
            savedSearchId: Type.Optional(Uuid),
            confirm: Type.Optional(Type.String({ maxLength: 20 })),
          },
          { additionalProperties: false },
        ),
        response: { 202: JobEnvelope, ...problems(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { ids, savedSearchId } = request.body;
      const entity = request.body.entity;
      assertConfirmed(request.body);
      const user = currentUser(request);
      if ((ids === undefined) === (savedSearchId === undefined)) {
        throw new DomainError(
          'unprocessable',
          'SELECTION_REQUIRED',
          'Select the objects with either `ids` or `savedSearchId`, not both.',
        );
      }
      if (ids) {
        const limit = app.config.bulkSelectionLimit;
        if (ids.length === 0) {
          throw new DomainError(
            'unprocessable',
            'SELECTION_REQUIRED',
            'Select at least one object.',
          );
        }
        if (ids.length > limit) {
          throw new DomainError(
            'unprocessable',
            'SELECTION_TOO_LARGE',
            `At most ${limit} objects can be selected by ID; save a search to erase every object it matches.`,
            { limit, selected: ids.length },
          );
        }
      } else {
        const saved = await getSavedSearch(app.db, savedSearchId!, user);
        if (saved.index !== entity) {
          throw new DomainError(
            'unprocessable',
            'SAVED_SEARCH_INDEX_MISMATCH',
            `Saved search ${saved.id} searches ${saved.index}, not ${entity}.`,
            { savedSearchIndex: saved.index },
          );
        }
      }
      const selected = ids ? [...new Set(ids)] : undefined;
      const params = {
        entity: bulkEntities[entity],
        ...(selected ? { ids: selected } : { savedSearchId }),
      };
      const job = await startJob(app, {
        type: 'bulk_delete',
        user,
        params,
        customerIds: entity === 'customers' && selected ? selected : [],
        summary: selected
          ? `Delete ${selected.length} ${entity}`
          : `Delete every ${entity.replace(/s$/, '')} matching saved search ${savedSearchId}`,
        idempotencyKey: request.headers['idempotency-key'],
      });
      return reply.code(202).send({ job: jobView(app, job) });
    },
  );

  app.post(
    '/bulk-deletes/:jobId/cancel',
    {
      preHandler: canBulkDelete,
      schema: {
        tags: ['deletions'],
        summary: 'Stop a bulk delete after its current batch; what was deleted stays deleted',
        params: JobIdParams,
        response: { 200: JobEnvelope, 202: JobEnvelope, ...problems(403, 404, 409) },
      },
    },
    async (request, reply) => {
      const job = await findOwnJob(app, currentUser(request), request.params.jobId, 'bulk_delete');
      if (isFinished(job.status)) {
        throw new DomainError('conflict', 'JOB_FINISHED', `The job is already ${job.status}.`, {
          jobId: job.id,
          jobStatus: job.status,
        });
      }
      await signalCancel(app, job, cancelBulkJobSignal);
      const current = await waitForJob(app, job.id, isFinished);
      return reply
        .code(isFinished(current.status) ? 200 : 202)
        .send({ job: jobView(app, current) });
    },
  );
};

export default deletions;
