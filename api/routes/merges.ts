import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { findCustomer } from '../../db/queries/customers';
import { assertDifferentCustomers } from '../../domain/merge';
import { notFound } from '../../lib/errors';
import { jobView, startConfirmableJob } from '../jobs';
import { can, currentUser } from '../plugins/auth';
import { problems, Uuid } from '../schemas/common';
import { IdempotencyHeaders, JobEnvelope } from '../schemas/jobs';
import { confirmableJobRoutes } from './confirmable';

const tags = ['merges'];

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
        user: currentUser(request),
        params: { sourceCustomerId, targetCustomerId, itemLimit: app.config.mergeItemLimit },
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
};

export default merges;
