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
import type { FastifySchemaValidationError } from 'fastify';
import type { JobRow } from '../../db/queries/job-rows';
import { findSavedSearch } from '../../db/queries/saved-searches';
import { displayNamesOf, listJobItems, type BulkDeleteParams } from '../../operations/bulk-delete';
import {
  confirmBulkJob,
  findOwnJob,
  isFinished,
  jobView,
  refusalOfJob,
  replyTells,
  signalCancel,
  startJob,
  waitForJob,
} from '../job-control';
import { assertPermission, can, currentUser, type AuthUser } from '../plugins/auth';
import { deletePermission, readPermission, type ObjectType } from '../../lib/permissions';
import { IdParams, Nullable, OneOf, problems, Uuid } from '../schemas/common';
import { IdempotencyHeaders, Job, JobEnvelope, JobIdParams } from '../schemas/jobs';

/** The typed confirmation: the one value a deletion accepts, declared so clients can send it. */
const TypedConfirmation = Type.Unsafe<'DELETE'>({
  type: 'string',
  enum: ['DELETE'],
  description: 'Must be exactly "DELETE": deleting is permanent.',
});

const Confirmation = Type.Object(
  { confirm: Type.Optional(TypedConfirmation) },
  { additionalProperties: false },
);

/** How many objects of a bulk job's selection its preview shows. */
const FIRST_PAGE = 20;

const BulkPreviewEnvelope = Type.Object({
  job: Job,
  selection: Nullable(
    Type.Object({
      count: Type.Integer({ description: 'How many objects the confirmation erases.' }),
      notFound: Type.Integer({ description: 'IDs asked for that do not exist: not selected.' }),
      firstPage: Type.Array(
        Type.Object({
          id: Uuid,
          // The object's name, subject or title while it exists; only the job's starter sees it.
          displayName: Nullable(Type.String()),
        }),
      ),
      savedSearch: Nullable(
        Type.Object({
          id: Uuid,
          name: Nullable(Type.String()),
          query: Nullable(Type.String()),
          filters: Nullable(Type.Record(Type.String(), Type.Unknown())),
          changedSincePreview: Type.Boolean(),
        }),
      ),
    }),
  ),
});

/**
 * A refused typed confirmation is the one refusal a deletion explains itself
 * (422 CONFIRMATION_REQUIRED); anything else refused goes the usual way.
 */
function throwValidation(
  error: (Error & { validation?: FastifySchemaValidationError[] }) | undefined,
): void {
  if (!error) return;
  const aboutConfirm = (issue: FastifySchemaValidationError) =>
    issue.instancePath === '/confirm' ||
    (issue.keyword === 'required' && issue.params.missingProperty === 'confirm');
  if (error.validation?.length && error.validation.every(aboutConfirm)) assertConfirmed({});
  throw error;
}

const singles: { path: ObjectType; entity: DeletableEntity; noun: string }[] = [
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
        config: { access: can(deletePermission(path)) },
        attachValidation: true,
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
        throwValidation(request.validationError);
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
        if (!(await replyTells(app, current)))
          return reply.code(202).send({ job: jobView(app, current) });
        if (current.status !== 'completed') throw refusalOfJob(current);
        return { job: jobView(app, current) };
      },
    );
  }

  const canBulkDelete = can('searches.read', 'searches.bulkDelete');

  /** A bulk erasure also needs the erased type's delete permission, and its read one to see the selection. */
  const assertMayErase = (user: AuthUser, entity: DeletableEntity) => {
    const type = `${entity}s` as const;
    assertPermission(user, deletePermission(type));
    assertPermission(user, readPermission(type));
  };
  const entityOf = (job: JobRow) => (job.params as unknown as BulkDeleteParams).entity;

  /** The first page of a bulk job's frozen selection, with names for its starter to recognise. */
  const selectionView = async (job: JobRow) => {
    const params = job.params as unknown as BulkDeleteParams;
    const preview = (job.preview ?? {}) as {
      count?: number;
      notFound?: number;
      savedSearchUpdatedAt?: string;
    };
    const items = await listJobItems(app.db, job.id, { limit: FIRST_PAGE });
    const names = await displayNamesOf(
      app.db,
      params.entity,
      items.map((item) => item.objectId),
    );
    const saved = params.savedSearchId
      ? await findSavedSearch(app.db, params.savedSearchId)
      : undefined;
    return {
      count: preview.count ?? job.progressTotal,
      notFound: preview.notFound ?? 0,
      firstPage: items.map((item) => ({
        id: item.objectId,
        displayName: names.get(item.objectId) ?? null,
      })),
      savedSearch: params.savedSearchId
        ? {
            id: params.savedSearchId,
            name: saved?.name ?? null,
            query: saved?.query ?? null,
            filters: (saved?.filters as Record<string, unknown> | undefined) ?? null,
            // The selection is frozen: a search edited since shows what it would select now, not what was selected.
            changedSincePreview:
              !saved || saved.updatedAt.toISOString() !== preview.savedSearchUpdatedAt,
          }
        : null,
    };
  };

  app.post(
    '/bulk-deletes',
    {
      config: { access: canBulkDelete },
      attachValidation: true,
      schema: {
        tags: ['deletions'],
        summary: 'Preview the erasure of many customers, conversations or KObjects',
        description:
          'Explicit `ids` (at most BULK_SELECTION_LIMIT, default 30) or every *exact* match of a saved search ' +
          '(`savedSearchId`: every query term as a whole word, no typo, no prefix, checked against the database). ' +
          'Nothing is erased yet: 202 with the job `awaiting_confirmation` (workflow `bulk-delete-<jobId>`) and ' +
          'its frozen `selection` — the count and the first page. Erase it with ' +
          '`POST /v1/bulk-deletes/{jobId}/confirm` and that count before `expiresAt`; page the whole selection ' +
          'with `GET /v1/jobs/{jobId}/items`. 422 NOTHING_SELECTED when nothing exists to erase.',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            entity: OneOf(['customers', 'conversations', 'kobjects'] as const),
            ids: Type.Optional(Type.Array(Uuid, { maxItems: 10_000 })),
            savedSearchId: Type.Optional(Uuid),
            confirm: Type.Optional(TypedConfirmation),
          },
          { additionalProperties: false },
        ),
        response: { 202: BulkPreviewEnvelope, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      throwValidation(request.validationError);
      const { ids, savedSearchId } = request.body;
      const entity = request.body.entity;
      const user = currentUser(request);
      assertMayErase(user, bulkEntities[entity]);
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
      const started = await startJob(app, {
        type: 'bulk_delete',
        user,
        params,
        input: { confirmTtlMs: app.config.confirmTtlMs },
        customerIds: entity === 'customers' && selected ? selected : [],
        summary: selected
          ? `Erase ${selected.length} ${entity} (previewed, then confirmed by count)`
          : `Erase every ${entity.replace(/s$/, '')} matching saved search ${savedSearchId} exactly (previewed, then confirmed by count)`,
        idempotencyKey: request.headers['idempotency-key'],
      });
      const job = await waitForJob(app, started.id, (status) => status !== 'pending');
      if (job.status === 'rejected' || job.status === 'failed') throw refusalOfJob(job);
      return reply.code(202).send({
        job: jobView(app, job),
        selection: job.status === 'pending' ? null : await selectionView(job),
      });
    },
  );

  app.post(
    '/bulk-deletes/:jobId/confirm',
    {
      config: { access: canBulkDelete },
      attachValidation: true,
      schema: {
        tags: ['deletions'],
        summary: 'Erase a previewed selection: confirm with "DELETE" and the previewed count',
        description:
          'Starts erasing the frozen selection in the background: 202 with the running job; watch its ' +
          '`progress`. 422 CONFIRMATION_REQUIRED without `"confirm": "DELETE"`; 422 ' +
          'COUNT_MISMATCH when `count` is not the previewed count (nothing is erased); 409 ' +
          'JOB_NOT_AWAITING_CONFIRMATION once the job expired, was cancelled or already runs.',
        params: JobIdParams,
        body: Type.Object(
          {
            confirm: TypedConfirmation,
            count: Type.Integer({
              minimum: 0,
              maximum: 10_000_000,
              description: 'The previewed count.',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 202: JobEnvelope, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      throwValidation(request.validationError);
      const user = currentUser(request);
      const job = await findOwnJob(app, user, request.params.jobId, 'bulk_delete');
      assertMayErase(user, entityOf(job));
      const confirmed = await confirmBulkJob(app, job, user.id, request.body.count);
      return reply.code(202).send({ job: jobView(app, confirmed) });
    },
  );

  app.get(
    '/bulk-deletes/:jobId/selection',
    {
      config: { access: canBulkDelete },
      schema: {
        tags: ['deletions'],
        summary: "A bulk erasure's frozen selection: its count and first page",
        params: JobIdParams,
        response: { 200: BulkPreviewEnvelope, ...problems(403, 404) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const job = await findOwnJob(app, user, request.params.jobId, 'bulk_delete');
      assertMayErase(user, entityOf(job));
      return { job: jobView(app, job), selection: await selectionView(job) };
    },
  );

  app.post(
    '/bulk-deletes/:jobId/cancel',
    {
      config: { access: canBulkDelete },
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
