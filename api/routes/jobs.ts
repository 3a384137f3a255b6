import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listJobs } from '../../db/queries/job-rows';
import { jobItemStatuses, jobStatuses, jobTypes } from '../../db/schema';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { displayNamesOf, listJobItems } from '../../operations/bulk-delete';
import type { DeletableEntity } from '../../operations/delete';
import { findOwnJob, jobView } from '../job-control';
import { anyUser, currentUser } from '../plugins/auth';
import { OneOf, Page, PageQuery, problems, Uuid } from '../schemas/common';
import { Job } from '../schemas/jobs';

const tags = ['jobs'];

/** Anyone sees the jobs they started; admins see every job. */
const jobs: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/jobs/:id',
    {
      config: { access: anyUser },
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
      config: { access: anyUser },
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

  app.get(
    '/jobs/:id/items',
    {
      config: { access: anyUser },
      schema: {
        tags,
        summary:
          "A bulk job's frozen selection, in order: each object's status, why it failed, and its name",
        description:
          'Pages the whole selection before the job is confirmed and after it ran. `displayName` is the ' +
          "object's name, subject or title while it exists (null once erased); only the job's starter and admins see it.",
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object(
          { ...PageQuery, status: Type.Optional(OneOf(jobItemStatuses)) },
          { additionalProperties: false },
        ),
        response: {
          200: Page(
            Type.Object({
              objectId: Uuid,
              status: Type.String({ description: jobItemStatuses.join(' | ') }),
              reason: Type.Union([Type.String(), Type.Null()]),
              displayName: Type.Union([Type.String(), Type.Null()]),
            }),
          ),
          ...problems(404),
        },
      },
    },
    async (request) => {
      const job = await findOwnJob(app, currentUser(request), request.params.id);
      const { limit = 25, cursor, status } = request.query;
      const after = cursor ? decodeCursor(cursor, ['integer'])[0] : undefined;
      const rows = await listJobItems(app.db, job.id, { status, after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const entity = (job.params as { entity?: DeletableEntity }).entity;
      const names = entity
        ? await displayNamesOf(
            app.db,
            entity,
            page.map((item) => item.objectId),
          )
        : new Map<string, string | null>();
      return {
        items: page.map(({ objectId, status, reason }) => ({
          objectId,
          status,
          reason,
          displayName: names.get(objectId) ?? null,
        })),
        nextCursor: rows.length > limit ? encodeCursor([page.at(-1)!.position]) : null,
      };
    },
  );
};

export default jobs;
