import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'drizzle-orm';
import { Type } from 'typebox';

const Check = Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]);
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('unavailable')]),
  postgres: Check,
  temporal: Check,
  search: Check,
});

/** How long one dependency may take to answer a health check before it counts as down. */
const CHECK_TIMEOUT_MS = 2_000;

/** 'ok' when `probe` resolves within the check timeout, 'unavailable' otherwise. */
async function check(probe: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'unavailable'>((resolve) => {
    timer = setTimeout(() => resolve('unavailable'), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      probe().then(
        () => 'ok' as const,
        () => 'unavailable' as const,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Liveness (the process answers) apart from readiness (the stores it needs
 * answer), for load balancers, orchestrators and `npm run dev`. Postgres and
 * Temporal are needed for every write; without Meilisearch only search
 * answers 503, so the API stays ready, `degraded`.
 */
const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health/live',
    {
      schema: {
        tags: ['health'],
        summary: 'Whether the API process answers (it checks no dependency)',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  const ready = async () => {
    const [postgres, temporal, search] = await Promise.all([
      check(() => app.db.execute(sql`select 1`)),
      check(() => app.temporal.workflowService.getSystemInfo({})),
      check(() => app.meili.health()),
    ]);
    const needed = postgres === 'ok' && temporal === 'ok';
    const status: 'ok' | 'degraded' | 'unavailable' = !needed
      ? 'unavailable'
      : search === 'ok'
        ? 'ok'
        : 'degraded';
    return {
      code: needed ? (200 as const) : (503 as const),
      body: { status, postgres, temporal, search },
    };
  };

  for (const url of ['/health/ready', '/health']) {
    app.get(
      url,
      {
        schema: {
          tags: ['health'],
          summary:
            url === '/health'
              ? 'Same as /health/ready (kept for existing checks)'
              : 'Whether the API can serve: Postgres, Temporal and Meilisearch each reported',
          description:
            '200 `ok`; 200 `degraded` when only Meilisearch is down (search answers 503, everything else works); ' +
            '503 `unavailable` when Postgres or Temporal is down. Each check gives up after 2 s.',
          security: [],
          response: { 200: Readiness, 503: Readiness },
        },
      },
      async (_request, reply) => {
        const { code, body } = await ready();
        return reply.code(code).send(body);
      },
    );
  }
};

export default health;
