import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { checkKObjectMove } from '../../operations/kobject-move';
import { checkSplit } from '../../operations/split';
import { jobView, startConfirmableJob } from '../job-control';
import { can, currentUser } from '../plugins/auth';
import { problems, Uuid } from '../schemas/common';
import { IdempotencyHeaders, JobEnvelope } from '../schemas/jobs';
import { confirmableJobRoutes } from './confirmable';

const Ids = Type.Array(Uuid, { maxItems: 1000 });

/** Splitting conversations off a timeline, and moving KObjects: previewed, confirmed jobs like merge. */
const transfers: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/splits',
    {
      config: { access: can('customers.merge', 'conversations.write') },
      schema: {
        tags: ['splits'],
        summary: 'Preview moving selected conversations (only conversations) to another customer',
        description:
          'The source keeps its attributes and KObjects. 422 NOT_A_CONVERSATION_OF_SOURCE lists every ID that is not ' +
          'one of its conversations.',
        headers: IdempotencyHeaders,
        body: Type.Object(
          { sourceCustomerId: Uuid, targetCustomerId: Uuid, conversationIds: Ids },
          { additionalProperties: false },
        ),
        response: { 201: JobEnvelope, 202: JobEnvelope, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const params = {
        ...request.body,
        conversationIds: [...new Set(request.body.conversationIds)],
      };
      await checkSplit(app.db, params);
      const job = await startConfirmableJob(app, {
        type: 'split',
        user: currentUser(request),
        params,
        customerIds: [params.sourceCustomerId, params.targetCustomerId],
        summary: `Move ${params.conversationIds.length} conversation(s) from customer ${params.sourceCustomerId} to ${params.targetCustomerId}`,
        idempotencyKey: request.headers['idempotency-key'],
      });
      return reply
        .code(job.status === 'awaiting_confirmation' ? 201 : 202)
        .send({ job: jobView(app, job) });
    },
  );

  app.post(
    '/kobject-moves',
    {
      config: { access: can('customers.merge', 'kobjects.write') },
      schema: {
        tags: ['kobject-moves'],
        summary: 'Preview moving KObjects to another customer',
        headers: IdempotencyHeaders,
        body: Type.Object(
          { kobjectIds: Ids, targetCustomerId: Uuid },
          { additionalProperties: false },
        ),
        response: { 201: JobEnvelope, 202: JobEnvelope, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const params = { ...request.body, kobjectIds: [...new Set(request.body.kobjectIds)] };
      const found = await checkKObjectMove(app.db, params);
      const job = await startConfirmableJob(app, {
        type: 'kobject_move',
        user: currentUser(request),
        params,
        customerIds: [...new Set([params.targetCustomerId, ...found.map((k) => k.customerId)])],
        summary: `Move ${params.kobjectIds.length} KObject(s) to customer ${params.targetCustomerId}`,
        idempotencyKey: request.headers['idempotency-key'],
      });
      return reply
        .code(job.status === 'awaiting_confirmation' ? 201 : 202)
        .send({ job: jobView(app, job) });
    },
  );

  await app.register(confirmableJobRoutes({ path: 'splits', type: 'split', noun: 'split' }));
  await app.register(
    confirmableJobRoutes({ path: 'kobject-moves', type: 'kobject_move', noun: 'KObject move' }),
  );
};

export default transfers;
