/**
 * What the API writes to its log about a request or an error. Logs carry no
 * personal data: a request is logged by its route pattern
 * (`/v1/customers/:id`), never by the URL the client sent (an email typed
 * where an ID belongs, a search query string), and its path parameters only
 * once they passed validation (IDs). An error is logged by what
 * `describeError` says of it (class, code, SQLSTATE, constraint) and where it
 * was thrown, never by its message, which quotes the values involved.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  describeError,
  describeErrorLine,
  stackFramesOf,
  type ErrorDescription,
} from '../db/errors';

/** Requests whose params, query, body and headers passed their schemas. */
const validated = new WeakSet<FastifyRequest>();

export function requestLogView(request: FastifyRequest) {
  return {
    method: request.method,
    route: request.routeOptions?.url ?? '(no route)',
    ...(validated.has(request) ? { params: request.params } : {}),
    remoteAddress: request.ip,
  };
}

/** Pino's error shape, with `message` saying only what `describeErrorLine` says. */
interface ErrorLogView extends ErrorDescription {
  type: string;
  message: string;
  stack: string;
  [field: string]: unknown;
}

export function errorLogView(error: unknown): ErrorLogView {
  const description = describeError(error);
  return {
    type: description.errorClass,
    message: describeErrorLine(error),
    stack: stackFramesOf(error),
    ...description,
  };
}

/**
 * One line per request when its response is sent (Fastify's own request
 * logging is off: it writes the request before routing and validation).
 */
export const requestLogging = fp(
  async function requestLogging(app: FastifyInstance) {
    // preHandler runs only for a request that passed validation; the
    // not-found handler's catch-all `*` param is the raw path.
    app.addHook('preHandler', async (request) => {
      if (!request.is404) validated.add(request);
    });
    app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
      request.log.info(
        { req: request, res: reply, responseTime: reply.elapsedTime },
        'request completed',
      );
    });
  },
  { name: 'request-logging' },
);
