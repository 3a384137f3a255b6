import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { notFound } from '../../lib/errors';
import { temporalUiLink } from '../../lib/temporal';
import { searchAttributes, workflowIds } from '../../workflows/contracts';
import type { countTimelineWorkflow } from '../../workflows/count-timeline';
import { adminOnly, currentUser } from '../plugins/auth';
import { problems, Uuid } from '../schemas/common';

const diagnostics: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/diagnostics/timeline-count',
    {
      config: { access: adminOnly },
      schema: {
        tags: ['diagnostics'],
        summary: "Count a customer's timeline items through a Temporal workflow",
        description:
          'Proves the whole path works: the API starts a workflow, the worker runs its activity against Postgres, ' +
          'and the result comes back. The workflow is visible in Temporal UI.',
        body: Type.Object({ customerId: Uuid }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            workflowId: Type.String(),
            temporalUiUrl: Type.String(),
            counts: Type.Object({
              conversations: Type.Integer(),
              kobjects: Type.Integer(),
              total: Type.Integer(),
            }),
          }),
          ...problems(404),
        },
      },
    },
    async (request) => {
      const { customerId } = request.body;
      const { temporal: settings } = app.config;
      const workflowId = workflowIds.timelineCount(randomUUID());
      const result = await app.temporal.workflow.execute<typeof countTimelineWorkflow>(
        'countTimelineWorkflow',
        {
          taskQueue: settings.taskQueue,
          workflowId,
          args: [{ customerId }],
          workflowExecutionTimeout: '1 minute',
          staticSummary: `Count timeline items of customer ${customerId}`,
          typedSearchAttributes: [
            { key: searchAttributes.jobType, value: 'timeline_count' },
            { key: searchAttributes.customerIds, value: [customerId] },
            { key: searchAttributes.startedBy, value: currentUser(request).id },
          ],
        },
      );
      if (result.status === 'rejected') throw notFound('Customer', customerId);
      return {
        workflowId,
        temporalUiUrl: temporalUiLink(settings.uiUrl, settings.namespace, workflowId),
        counts: result.counts,
      };
    },
  );
};

export default diagnostics;
