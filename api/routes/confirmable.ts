import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ConfirmableJobType } from '../../workflows/contracts';
import { cancelJob, confirmJob, findOwnJob, jobView } from '../job-control';
import { can, currentUser } from '../plugins/auth';
import { problems } from '../schemas/common';
import { JobEnvelope, JobIdParams } from '../schemas/jobs';

/**
 * The confirm and cancel routes every previewed job has, under `/<path>/{jobId}`.
 * One definition, so merge, split and move answer alike.
 */
export function confirmableJobRoutes({
  path,
  type,
  noun,
}: {
  path: string;
  type: ConfirmableJobType;
  noun: string;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    const allowed = can('customers.merge');
    const tags = [path];

    app.post(
      `/${path}/:jobId/confirm`,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary: `Confirm a previewed ${noun}`,
          description:
            '200 with the completed job, or 202 with the running job when it takes longer than a few seconds. ' +
            '409 PREVIEW_STALE when what was previewed changed since; nothing is changed then. ' +
            "Only the job's starter or an admin can confirm or cancel it; others get 404.",
          params: JobIdParams,
          response: { 200: JobEnvelope, 202: JobEnvelope, ...problems(403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const user = currentUser(request);
        const job = await findOwnJob(app, user, request.params.jobId, type);
        const confirmed = await confirmJob(app, job, user.id);
        return reply
          .code(confirmed.finished ? 200 : 202)
          .send({ job: jobView(app, confirmed.job) });
      },
    );

    app.post(
      `/${path}/:jobId/cancel`,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary: `Cancel a ${noun} awaiting confirmation`,
          params: JobIdParams,
          response: { 200: JobEnvelope, ...problems(403, 404, 409) },
        },
      },
      async (request) => {
        const job = await findOwnJob(app, currentUser(request), request.params.jobId, type);
        return { job: jobView(app, await cancelJob(app, job)) };
      },
    );
  };
}
