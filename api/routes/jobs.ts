import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listJobs } from '../../db/queries/jobs';
import { jobStatuses, jobTypes } from '../../db/schema';
import { findOwnJob, jobView } from '../jobs';
import { currentUser } from '../plugins/auth';
import { OneOf, Page, PageQuery, problems, Uuid } from '../schemas/common';
import { Job } from '../schemas/jobs';

const tags = ['jobs'];

/** Anyone sees the jobs they started; admins see every job. */
const jobs: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/jobs/:id',
    {
      schema: {
        tags,
        summary: 'Get a job: status, progress, preview, result or error, and its workflow',
        params: Type.Object({ id: Uuid }),
        response: { 200: Job, ...problems(404) },
      },
    },
    async (request) => {
      return jobView(app, await findOwnJob(app, currentUser(request), request.params.id));
    },
  );

  app.get(
    '/jobs',
    {
      schema: {
        tags,
        summary: 'List jobs, newest first',
        querystring: Type.Object(
          {
            ...PageQuery,
            type: Type.Optional(OneOf(jobTypes)),
            status: Type.Optional(OneOf(jobStatuses)),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Job), ...problems() },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const { limit = 25, cursor, type, status } = request.query;
      const page = await listJobs(app.db, {
        limit,
        cursor,
        type,
        status,
        startedBy: user.isAdmin ? undefined : user.id,
      });
      return { items: page.items.map((job) => jobView(app, job)), nextCursor: page.nextCursor };
    },
  );
};

export default jobs;
