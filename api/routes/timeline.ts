import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { customerTimeline, setPinned } from '../../db/queries/timeline';
import { assertPermission, can, currentUser } from '../plugins/auth';
import { IdParams, NoContent, OneOf, Page, PageQuery, problems } from '../schemas/common';
import { TimelineItem } from '../schemas/timeline';
import { timelineItemView } from '../views';

const tags = ['timeline'];

const timeline: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/customers/:id/timeline',
    {
      config: { access: can('customers.read', 'conversations.read', 'kobjects.read') },
      schema: {
        tags,
        summary: "A customer's conversations and KObjects: pinned first, then most recent activity",
        description:
          '`include=events` interleaves the engagement events (never pinned) by when they occurred.',
        params: IdParams,
        querystring: Type.Object(
          { ...PageQuery, include: Type.Optional(OneOf(['events'] as const)) },
          { additionalProperties: false },
        ),
        response: { 200: Page(TimelineItem), ...problems(404) },
      },
    },
    async (request) => {
      if (request.query.include === 'events') assertPermission(currentUser(request), 'events.read');
      const page = await customerTimeline(app.db, request.params.id, {
        limit: request.query.limit ?? 25,
        cursor: request.query.cursor,
        includeEvents: request.query.include === 'events',
      });
      return { items: page.items.map(timelineItemView), nextCursor: page.nextCursor };
    },
  );

  for (const [segment, type] of [
    ['conversations', 'conversation'],
    ['kobjects', 'kobject'],
  ] as const) {
    app.put(
      `/${segment}/:id/pin`,
      {
        config: { access: can(`${segment}.write`) },
        schema: {
          tags,
          summary: `Pin a ${type} to the top of its customer's timeline (for everyone)`,
          params: IdParams,
          response: { 204: NoContent, ...problems(404) },
        },
      },
      async (request, reply) => {
        await setPinned(app.db, type, request.params.id, true, currentUser(request).id);
        return reply.code(204).send(null);
      },
    );
    app.delete(
      `/${segment}/:id/pin`,
      {
        config: { access: can(`${segment}.write`) },
        schema: {
          tags,
          summary: `Unpin a ${type}`,
          params: IdParams,
          response: { 204: NoContent, ...problems(404) },
        },
      },
      async (request, reply) => {
        await setPinned(app.db, type, request.params.id, false, currentUser(request).id);
        return reply.code(204).send(null);
      },
    );
  }
};

export default timeline;
