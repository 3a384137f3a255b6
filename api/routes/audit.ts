import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listAuditLog } from '../../db/queries/audit';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { adminOnly } from '../plugins/auth';
import { Nullable, Page, PageQuery, problems, Timestamp, Uuid } from '../schemas/common';

const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  actorUserId: Nullable(Uuid),
  action: Type.String(),
  objectType: Type.String(),
  objectId: Uuid,
  jobId: Nullable(Uuid),
  details: Type.Record(Type.String(), Type.Unknown()),
});

/** The append-only audit log: who did what to which object ID, under which job. Admins only. */
const audit: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/audit-log',
    {
      config: { access: adminOnly },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first',
        description: 'Holds IDs and counts only, never personal data, so erasures leave it whole.',
        querystring: Type.Object(
          {
            ...PageQuery,
            action: Type.Optional(Type.String({ maxLength: 100 })),
            objectType: Type.Optional(Type.String({ maxLength: 50 })),
            objectId: Type.Optional(Uuid),
            jobId: Type.Optional(Uuid),
            from: Type.Optional(Timestamp),
            to: Type.Optional(Timestamp),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AuditEntry), ...problems(403) },
      },
    },
    async (request) => {
      const { limit = 25, cursor, from, to, ...filter } = request.query;
      const rows = await listAuditLog(app.db, {
        ...filter,
        from: from ? new Date(from) : undefined,
        to: to ? new Date(to) : undefined,
        before: cursor ? decodeCursor(cursor, ['integer'])[0] : undefined,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        items: page.map((row) => ({ ...row, at: row.at.toISOString() })),
        nextCursor: rows.length > limit ? encodeCursor([page.at(-1)!.id]) : null,
      };
    },
  );
};

export default audit;
