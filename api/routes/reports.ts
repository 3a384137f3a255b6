import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { conversationReport } from '../../db/queries/reporting';
import { conversationChannels, conversationStatuses } from '../../db/schema';
import { DomainError } from '../../lib/errors';
import { OneOf, problems } from '../schemas/common';
import { can } from '../plugins/auth';

const MAX_DAYS = 366;

const reports: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/reports/conversations',
    {
      config: { access: can('reports.read') },
      schema: {
        tags: ['reporting'],
        summary: 'Conversations per day (UTC, by creation), channel and current status',
        description:
          'Served from aggregates kept as conversations are created and change status; deleting customers leaves them unchanged.',
        querystring: Type.Object(
          {
            from: Type.String({ format: 'date' }),
            to: Type.String({ format: 'date' }),
            channel: Type.Optional(OneOf(conversationChannels)),
            status: Type.Optional(OneOf(conversationStatuses)),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            from: Type.String(),
            to: Type.String(),
            total: Type.Integer(),
            rows: Type.Array(
              Type.Object({
                day: Type.String(),
                channel: Type.String(),
                status: Type.String(),
                conversations: Type.Integer(),
              }),
            ),
          }),
          ...problems(),
        },
      },
    },
    async (request) => {
      const { from, to, channel, status } = request.query;
      const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
      if (days < 0)
        throw new DomainError('invalid', 'INVALID_DATE_RANGE', '`from` must not be after `to`.');
      if (days >= MAX_DAYS) {
        throw new DomainError(
          'invalid',
          'INVALID_DATE_RANGE',
          `A report covers at most ${MAX_DAYS} days.`,
        );
      }
      const rows = await conversationReport(app.db, { from, to, channel, status });
      return { from, to, total: rows.reduce((sum, row) => sum + row.conversations, 0), rows };
    },
  );
};

export default reports;
