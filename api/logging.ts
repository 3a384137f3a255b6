/**
 * What the API writes to its log about a request or an error. Logs carry no
 * personal data: a request is logged by its route pattern
 * (`/v1/customers/:id`), never by the URL the client sent (an email typed
 * where an ID belongs, a search query string), and its path parameters only
 * once they passed validation (IDs). An error is logged by what
 * `describeError` says of it (class, code, SQLSTATE, constraint) and where it
 * was thrown, never by its message, which quotes the values involved.
 */
import {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
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
 * Fastify's log lines about a request, rewritten: its own quote the raw URL
 * ("Route GET:/v1/customers/ada@example.org not found") or an error's message.
 * One line per request when its response is sent, by `requestLogView`; the
 * error lines say what `errorLogView` says, under a fixed text.
 */
export class RequestLogController extends LogController {
  override incomingRequest() {
    // Before routing and validation: the line at completion says everything.
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply) {
    reply.log.error({ req: request, err: error }, 'request failed');
  }

  override streamError(error: Error, _request: FastifyRequest, reply: FastifyReply) {
    reply.log.warn({ err: error }, 'response terminated with an error after its headers');
  }

  override routeNotFound(request: FastifyRequest) {
    request.log.info({ req: request }, 'route not found');
  }

  override writeHeadError(error: Error, request: FastifyRequest, reply: FastifyReply) {
    reply.log.warn({ req: request, err: error }, 'writing the response head failed');
  }

  override serializerError(
    error: Error,
    _request: FastifyRequest,
    reply: FastifyReply,
    { statusCode }: { statusCode: number },
  ) {
    reply.log.error({ err: error, statusCode }, 'the response serializer failed');
  }
}

/** Marks the requests whose input validated, so their path IDs may be logged. */
export const requestLogging = fp(
  async function requestLogging(app: FastifyInstance) {
    // preHandler runs only for a request that passed validation; the
    // not-found handler's catch-all `*` param is the raw path.
    app.addHook('preHandler', async (request) => {
      if (!request.is404) validated.add(request);
    });
  },
  { name: 'request-logging' },
);
