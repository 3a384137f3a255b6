import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'drizzle-orm';
import { Type } from 'typebox';

const Check = Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]);

/** Liveness of the API's own dependencies, for load balancers and `npm run dev`. */
const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Whether the API can reach Postgres and Temporal',
        security: [],
        response: {
          200: Type.Object({ status: Check, postgres: Check, temporal: Check }),
          503: Type.Object({ status: Check, postgres: Check, temporal: Check }),
        },
      },
    },
    async (_request, reply) => {
      const [postgres, temporal] = await Promise.all([
        app.db.execute(sql`select 1`).then(
          () => 'ok' as const,
          () => 'unavailable' as const,
        ),
        app.temporal.workflowService.getSystemInfo({}).then(
          () => 'ok' as const,
          () => 'unavailable' as const,
        ),
      ]);
      const ok = postgres === 'ok' && temporal === 'ok';
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', postgres, temporal });
    },
  );
};

export default health;
