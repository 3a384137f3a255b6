/**
 * The process's Prometheus metrics (docs/metrics.md). One registry per
 * process, served by the API's `GET /metrics` and by the worker's metrics
 * listener. Labels hold only bounded values the code chose — a route
 * pattern, a status code, a job type or status, an entity kind — never an
 * ID, a URL as sent, or anything a caller typed.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Seconds; from a health check to a slow export build. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds from a job's request to its end: a delete in a second, a bulk erasure in an hour. */
const JOB_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600];

export const httpRequestDuration = new Histogram({
  name: 'custodian_http_request_duration_seconds',
  help: 'API requests by method, route pattern and status code, and how long each took to answer (its _count is the request count)',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: HTTP_BUCKETS,
  registers: [registry],
});

export const jobsStarted = new Counter({
  name: 'custodian_jobs_started_total',
  help: 'Jobs created (a request started a merge, split, move, delete, bulk delete, erasure, attribute clear or export), by type',
  labelNames: ['type'] as const,
  registers: [registry],
});

export const jobsFinished = new Counter({
  name: 'custodian_jobs_finished_total',
  help: 'Jobs that reached a final status, by type and outcome (completed, failed, rejected, expired, cancelled)',
  labelNames: ['type', 'outcome'] as const,
  registers: [registry],
});

export const jobDuration = new Histogram({
  name: 'custodian_job_duration_seconds',
  help: "Seconds from a job's creation to its final status, by type and outcome (confirmation waits included)",
  labelNames: ['type', 'outcome'] as const,
  buckets: JOB_BUCKETS,
  registers: [registry],
});

export const bulkErasureItems = new Counter({
  name: 'custodian_bulk_erasure_items_total',
  help: 'Objects a bulk erasure handled, by entity and outcome (done: erased or already gone; failed: busy too often)',
  labelNames: ['entity', 'outcome'] as const,
  registers: [registry],
});

/** Methods Fastify routes; anything else is counted as `other`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The method label: one of a fixed few, whatever a client sends. */
export const methodLabel = (method: string): string =>
  KNOWN_METHODS.has(method) ? method : 'other';
