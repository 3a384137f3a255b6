import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Gauge, Registry } from 'prom-client';
import { Type } from 'typebox';
import { readStateGauges, type StateGauges } from '../../db/queries/metric-gauges';
import { DomainError } from '../../lib/errors';
import { httpRequestDuration, methodLabel, registry } from '../../lib/metrics';
import { Problem } from '../schemas/common';

/** The route label of a request no route matched (404, 405): never its URL. */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * How long one read of the Postgres gauges serves scrapes: several
 * Prometheus servers, or a caller hammering an open /metrics, cost Postgres
 * at most three small queries per this time.
 */
const STATE_CACHE_MS = 2_000;

/** The gauges read from Postgres at scrape time, in a registry of this app's own. */
function stateRegistry(read: () => Promise<StateGauges>): Registry {
  const state = new Registry();
  let cached: { at: number; value: Promise<StateGauges | undefined> } | undefined;
  const current = () => {
    if (!cached || Date.now() - cached.at > STATE_CACHE_MS) {
      // A scrape during an outage answers without these gauges (NaN, or no series) and _up 0, never an error.
      cached = { at: Date.now(), value: read().catch(() => undefined) };
    }
    return cached.value;
  };
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    set: (gauge: Gauge<L>, value: StateGauges) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [state],
      async collect() {
        const value = await current();
        this.reset();
        if (value) set(this, value);
        // Unknown, not 0: a gauge without labels cannot be left out, and 0 would look healthy.
        else if (labelNames.length === 0) this.set(NaN);
      },
    });
  new Gauge({
    name: 'custodian_state_gauges_up',
    help: 'Whether the last read of the Postgres-derived gauges (outbox, privacy requests, open jobs) succeeded',
    registers: [state],
    async collect() {
      this.set((await current()) ? 1 : 0);
    },
  });
  gauge(
    'custodian_search_outbox_backlog',
    'Search outbox rows not yet drained into Meilisearch (counted up to 1,000,000)',
    [],
    (g, v) => g.set(v.outboxBacklog),
  );
  gauge(
    'custodian_search_outbox_oldest_age_seconds',
    'Seconds since the oldest undrained search outbox row was written (0 when none waits)',
    [],
    (g, v) => g.set(v.outboxOldestAgeSeconds),
  );
  gauge(
    'custodian_privacy_requests',
    'Privacy requests being worked on, by type, regulation and status (open or overdue)',
    ['type', 'regulation', 'status'],
    (g, v) => {
      for (const { type, regulation, status, count } of v.privacyRequests) {
        g.set({ type, regulation, status }, count);
      }
    },
  );
  gauge(
    'custodian_jobs_open',
    'Jobs not yet finished, by type and status (pending, awaiting_confirmation, running)',
    ['type', 'status'],
    (g, v) => {
      for (const { type, status, count } of v.openJobs) g.set({ type, status }, count);
    },
  );
  return state;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time. */
function bearsToken(request: FastifyRequest, token: string): boolean {
  const match = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), digest(token));
}

/**
 * `GET /metrics` in Prometheus' text format (docs/metrics.md), and the
 * latency of every request by route pattern and status. The endpoint answers
 * without an API key — it holds no personal data, and Prometheus scrapes with
 * a static credential, not a user's key — unless METRICS_TOKEN is set, then
 * only with that token as a bearer.
 */
export default fp(
  async function metrics(app: FastifyInstance) {
    app.addHook('onResponse', async (request, reply) => {
      httpRequestDuration.observe(
        {
          method: methodLabel(request.method),
          route: request.routeOptions.url ?? UNMATCHED_ROUTE,
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
    });

    const state = stateRegistry(() => readStateGauges(app.db));
    const { token } = app.config.metrics;
    app.get(
      '/metrics',
      {
        schema: {
          tags: ['health'],
          summary: 'Prometheus metrics of this API process and the Postgres-derived gauges',
          description:
            'Prometheus text exposition format. Open unless the server sets METRICS_TOKEN; then it needs ' +
            '`Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). See docs/metrics.md.',
          // Not an API key: the static METRICS_TOKEN when set (the description says so).
          security: [],
          response: {
            200: { content: { 'text/plain': { schema: Type.String() } } },
            401: Problem,
          },
        },
      },
      async (request, reply) => {
        if (token && !bearsToken(request, token)) {
          throw new DomainError(
            'unauthenticated',
            'UNAUTHENTICATED',
            'This endpoint needs the metrics token (METRICS_TOKEN) as a bearer token.',
            {},
            { headers: { 'www-authenticate': 'Bearer realm="custodian-metrics"' } },
          );
        }
        const merged = Registry.merge([registry, state]);
        return reply.type(merged.contentType).send(await merged.metrics());
      },
    );
  },
  { name: 'metrics', dependencies: ['infrastructure'] },
);
