import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { findCustomer } from '../../db/queries/customers';
import { assertDifferentCustomers } from '../../domain/merge';
import { notFound } from '../../lib/errors';
import {
  cancelJob,
  confirmJob,
  findJobOfType,
  jobView,
  refusalProblem,
  startConfirmableJob,
} from '../jobs';
import { currentUser, requirePermission } from '../plugins/auth';
import { problems, Uuid } from '../schemas/common';
import { IdempotencyHeaders, JobEnvelope, JobIdParams } from '../schemas/jobs';

const tags = ['merges'];

const merges: FastifyPluginAsyncTypebox = async (app) => {
  const canMerge = requirePermission('customers.merge');

  app.post(
    '/merges',
    {
      preHandler: canMerge,
      schema: {
        tags,
        summary:
          'Preview merging one customer (the source, which disappears) into another (the target)',
        description:
          'Answers 201 with the job awaiting confirmation and its preview, or 422 MERGE_LIMIT_EXCEEDED when the two ' +
          'timelines hold more conversations and KObjects together than the merge limit.',
        headers: IdempotencyHeaders,
        body: Type.Object(
          { sourceCustomerId: Uuid, targetCustomerId: Uuid },
          { additionalProperties: false },
        ),
        response: { 201: JobEnvelope, 202: JobEnvelope, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { sourceCustomerId, targetCustomerId } = request.body;
      assertDifferentCustomers(sourceCustomerId, targetCustomerId);
      for (const id of [sourceCustomerId, targetCustomerId]) {
        if (!(await findCustomer(app.db, id))) throw notFound('Customer', id);
      }
      const job = await startConfirmableJob(app, {
        type: 'merge',
        userId: currentUser(request).id,
        params: { sourceCustomerId, targetCustomerId, itemLimit: app.config.mergeItemLimit },
        customerIds: [sourceCustomerId, targetCustomerId],
        summary: `Merge customer ${sourceCustomerId} into ${targetCustomerId}`,
        idempotencyKey: request.headers['idempotency-key'],
      });
      if (job.status === 'rejected') throw refusalProblem(job);
      return reply.code(job.status === 'pending' ? 202 : 201).send({ job: jobView(app, job) });
    },
  );

  app.post(
    '/merges/:jobId/confirm',
    {
      preHandler: canMerge,
      schema: {
        tags,
        summary: 'Confirm a previewed merge',
        description:
          '200 with the completed job, or 202 with the running job when it takes longer than a few seconds. ' +
          '409 PREVIEW_STALE when either timeline changed since the preview; nothing is changed then.',
        params: JobIdParams,
        response: { 200: JobEnvelope, 202: JobEnvelope, ...problems(403, 404, 409) },
      },
    },
    async (request, reply) => {
      const job = await findJobOfType(app, request.params.jobId, 'merge');
      const confirmed = await confirmJob(app, job, currentUser(request).id);
      return reply.code(confirmed.finished ? 200 : 202).send({ job: jobView(app, confirmed.job) });
    },
  );

  app.post(
    '/merges/:jobId/cancel',
    {
      preHandler: canMerge,
      schema: {
        tags,
        summary: 'Cancel a merge awaiting confirmation',
        params: JobIdParams,
        response: { 200: JobEnvelope, ...problems(403, 404, 409) },
      },
    },
    async (request) => {
      const job = await findJobOfType(app, request.params.jobId, 'merge');
      return { job: jobView(app, await cancelJob(app, job)) };
    },
  );
};

export default merges;
