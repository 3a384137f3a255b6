import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { findCustomer } from '../../db/queries/customers';
import { assertDifferentCustomers } from '../../domain/merge';
import { notFound } from '../../lib/errors';
import { undoStatusOf } from '../../operations/unmerge';
import { findOwnJob, jobView, startConfirmableJob } from '../job-control';
import { can, currentUser } from '../plugins/auth';
import { problems, Uuid } from '../schemas/common';
import { IdempotencyHeaders, Job, JobEnvelope } from '../schemas/jobs';
import { confirmableJobRoutes } from './confirmable';

const tags = ['merges'];

const MergeIdParams = Type.Object({ id: Uuid });

const MergeEnvelope = Type.Object({
  job: Job,
  undo: Type.Object({
    undoable: Type.Boolean(),
    code: Type.Union([Type.String(), Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()]),
    undoableUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  }),
});

const merges: FastifyPluginAsyncTypebox = async (app) => {
  const canMerge = can('customers.merge');

  app.post(
    '/merges',
    {
      config: { access: canMerge },
      schema: {
        tags,
        summary:
          'Preview merging one customer (the source, which disappears) into another (the target)',
        description:
          'Answers 201 with the job awaiting confirmation and its preview, or 422 MERGE_LIMIT_EXCEEDED when the two ' +
          'timelines hold more conversations and KObjects together than the merge limit.',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            sourceCustomerId: Uuid,
            targetCustomerId: Uuid,
            override: Type.Optional(
              Type.Boolean({
                description:
                  'Merge two customers an undo marked as different people (otherwise 409 KEPT_APART).',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: JobEnvelope, 202: JobEnvelope, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { sourceCustomerId, targetCustomerId, override } = request.body;
      assertDifferentCustomers(sourceCustomerId, targetCustomerId);
      for (const id of [sourceCustomerId, targetCustomerId]) {
        if (!(await findCustomer(app.db, id))) throw notFound('Customer', id);
      }
      const job = await startConfirmableJob(app, {
        type: 'merge',
        user: currentUser(request),
        params: {
          sourceCustomerId,
          targetCustomerId,
          itemLimit: app.config.mergeItemLimit,
          undoWindowMs: app.config.mergeUndoWindowMs,
          ...(override ? { override } : {}),
        },
        customerIds: [sourceCustomerId, targetCustomerId],
        summary: `Merge customer ${sourceCustomerId} into ${targetCustomerId}`,
        idempotencyKey: request.headers['idempotency-key'],
      });
      return reply
        .code(job.status === 'awaiting_confirmation' ? 201 : 202)
        .send({ job: jobView(app, job) });
    },
  );

  await app.register(confirmableJobRoutes({ path: 'merges', type: 'merge', noun: 'merge' }));

  app.get(
    '/merges/:id',
    {
      config: { access: canMerge },
      schema: {
        tags,
        summary: 'Get a merge job and whether it can be undone now, with the reason when not',
        description:
          "Only the merge's starter or an admin sees it. `undo.code` is the refusal an undo would get " +
          '(UNDO_WINDOW_CLOSED, NO_MERGE_JOURNAL, MERGED_AGAIN, CUSTOMER_ERASED, ERASURE_PENDING, MERGE_ALREADY_UNDONE…).',
        params: MergeIdParams,
        response: { 200: MergeEnvelope, ...problems(403, 404) },
      },
    },
    async (request) => {
      const merge = await findOwnJob(app, currentUser(request), request.params.id, 'merge');
      return { job: jobView(app, merge), undo: await undoStatusOf(app.db, merge) };
    },
  );

  app.post(
    '/merges/:id/undo',
    {
      config: { access: canMerge },
      schema: {
        tags,
        summary: 'Preview undoing a merge: the source comes back under its own ID with what moved',
        description:
          'Answers 201 with the undo job awaiting confirmation (POST /v1/unmerges/{jobId}/confirm) and its preview: the customer ' +
          'that comes back, the conversations, KObjects and events that return to it, the contact points and fields ' +
          'taken back from the target, and what cannot be restored and why. Refused with 410 UNDO_WINDOW_CLOSED or ' +
          'CUSTOMER_ERASED, 409 ERASURE_PENDING, MERGED_AGAIN (undo the later merge first), MERGE_ALREADY_UNDONE or ' +
          "MERGE_NOT_COMPLETED, 422 NO_MERGE_JOURNAL. Only the merge's starter or an admin can undo it.",
        headers: IdempotencyHeaders,
        params: MergeIdParams,
        body: Type.Object(
          {
            keepApart: Type.Optional(
              Type.Boolean({
                description:
                  'Record that the two are different people: merging them again needs "override": true.',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: JobEnvelope, 202: JobEnvelope, ...problems(403, 404, 409, 410, 422) },
      },
      // The body is optional: a plain `curl -X POST` sends none.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const merge = await findOwnJob(app, user, request.params.id, 'merge');
      const { sourceCustomerId, targetCustomerId } = merge.params as {
        sourceCustomerId: string;
        targetCustomerId: string;
      };
      const job = await startConfirmableJob(app, {
        type: 'unmerge',
        user,
        params: {
          mergeJobId: merge.id,
          sourceCustomerId,
          targetCustomerId,
          keepApart: request.body.keepApart === true,
        },
        customerIds: [sourceCustomerId, targetCustomerId],
        summary: `Undo merge ${merge.id} (customer ${sourceCustomerId} out of ${targetCustomerId})`,
        idempotencyKey: request.headers['idempotency-key'],
      });
      return reply.code(job.status === 'pending' ? 202 : 201).send({ job: jobView(app, job) });
    },
  );

  await app.register(
    confirmableJobRoutes({ path: 'unmerges', type: 'unmerge', noun: 'undo of a merge' }),
  );
};

export default merges;
