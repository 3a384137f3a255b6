/**
 * What the API writes to its log about a request or an error. Logs carry no
 * personal data: query strings (`/v1/search/customers?q=<email>`) are never
 * written, a path that matched no route is not written either, and database
 * errors lose the values they quote (query parameters, `DETAIL` lines).
 */
import type { FastifyRequest } from 'fastify';
import { pathOf } from './route-table';

export function requestLogView(request: FastifyRequest) {
  return {
    method: request.method,
    // An unmatched path is whatever the client typed; a matched one holds IDs only.
    url: request.routeOptions?.url ? pathOf(request.url) : '(no route)',
    route: request.routeOptions?.url,
    remoteAddress: request.ip,
  };
}

/** Error fields that describe what failed without quoting data. */
const safeFields = [
  'code',
  'statusCode',
  'severity',
  'constraint',
  'table',
  'column',
  'schema',
  'routine',
] as const;

/** Drizzle appends the query's parameters to its message: they are request data. */
const withoutParams = (text: string) => text.replace(/\nparams: [\s\S]*?(?=\n {4}at |$)/, '');

interface ErrorLogView {
  type: string;
  message: string;
  stack: string;
  [field: string]: unknown;
}

export function errorLogView(error: unknown, depth = 0): ErrorLogView {
  if (!(error instanceof Error)) return { type: typeof error, message: '', stack: '' };
  const view: ErrorLogView = {
    type: error.name,
    message: withoutParams(error.message),
    stack: withoutParams(error.stack ?? ''),
  };
  for (const field of safeFields) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (value !== undefined) view[field] = value;
  }
  if (error.cause !== undefined && depth < 5) view.cause = errorLogView(error.cause, depth + 1);
  return view;
}
