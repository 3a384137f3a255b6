import type {
  ConnectionError,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import type { Socket } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import fp from 'fastify-plugin';
import { describeError, isDatabaseUnavailable, pgErrorOf } from '../../db/errors';
import { DomainError, serviceUnavailable, type DomainErrorKind } from '../../lib/errors';
import { isTemporalUnavailable } from '../../lib/temporal';
import { DATABASE_UNAVAILABLE_FAULT } from '../../workflows/refusals';
import { problemDocument, sendProblem } from '../problem';
import { pathOf, type RouteTable } from '../route-table';
import { validationIssues } from '../validation-issues';

/** The one table from a refusal's kind to its HTTP status. */
export const statusOfKind: Record<DomainErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  not_allowed: 405,
  conflict: 409,
  gone: 410,
  unprocessable: 422,
  unavailable: 503,
};

/**
 * Fastify's own refusals, each with a code and a text of ours: theirs may
 * quote the input (a path, a content type), and a problem document does not.
 */
const fastifyRefusals: Record<string, [code: string, detail: string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'UNSUPPORTED_MEDIA_TYPE',
    'The request body must be JSON (Content-Type: application/json).',
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    'INVALID_CONTENT_LENGTH',
    'The request body does not match its Content-Length.',
  ],
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'The request body is too large.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['EMPTY_JSON_BODY', 'The request body is empty.'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['INVALID_JSON', 'The request body is not valid JSON.'],
  FST_ERR_BAD_URL: ['INVALID_URL', 'The request URL is not valid (a malformed %-escape?).'],
  FST_ERR_MAX_PARAM_LENGTH: ['URI_TOO_LONG', 'A path segment of the request URL is too long.'],
};

/**
 * A workflow the API waited on failed because an activity found Postgres
 * unreachable until its retries ran out: the cause chain holds that fault.
 */
function failedOnDatabaseOutage(error: unknown): boolean {
  for (let link: unknown = error; link instanceof Error; link = link.cause) {
    if (link instanceof ApplicationFailure && link.type === DATABASE_UNAVAILABLE_FAULT) return true;
  }
  return false;
}

/**
 * A service the API depends on is down: 503 with `Retry-After`, alike for
 * Postgres, Temporal and Meilisearch; undefined for any other error.
 */
function outageProblem(error: unknown): DomainError | undefined {
  if (error instanceof DomainError) return error.kind === 'unavailable' ? error : undefined;
  if (isDatabaseUnavailable(error) || failedOnDatabaseOutage(error))
    return serviceUnavailable('database', error);
  if (isTemporalUnavailable(error)) return serviceUnavailable('temporal', error);
  return undefined;
}

/**
 * One error handler for the whole API: every refusal becomes problem+json with
 * a stable `code`; anything unexpected is logged with the request and answered
 * without internals.
 */
export default fp(
  async function errors(app: FastifyInstance, { routes }: { routes: RouteTable }) {
    app.addHook('onRoute', (route) => routes.add(route.url, route.method));

    app.setNotFoundHandler((request, reply) => {
      const path = pathOf(request.url);
      const allowed = routes.allowed(path);
      if (allowed.length > 0) {
        reply.header('allow', allowed.join(', '));
        // The path is whatever the client typed: the answer does not repeat it.
        return sendProblem(
          reply,
          405,
          'METHOD_NOT_ALLOWED',
          `This path answers ${allowed.join(', ')}, not ${request.method}.`,
          { allowed },
        );
      }
      return sendProblem(reply, 404, 'ROUTE_NOT_FOUND', 'No route answers this method and path.');
    });

    app.setErrorHandler((error: FastifyError, request, reply) => {
      const outage = outageProblem(error);
      if (outage) {
        // One line per request, no stack: an outage is not a bug, and it repeats.
        request.log.warn(
          { route: request.routeOptions.url, code: outage.code, reason: describeError(error) },
          'dependency unavailable',
        );
        reply.headers(outage.headers);
        return sendProblem(reply, 503, outage.code, outage.message);
      }
      const cause = (error as { cause?: unknown }).cause;
      const domain =
        error instanceof DomainError ? error : cause instanceof DomainError ? cause : undefined;
      if (domain) {
        reply.headers(domain.headers);
        return sendProblem(
          reply,
          statusOfKind[domain.kind],
          domain.code,
          domain.message,
          domain.details,
        );
      }
      if (error.validation) {
        const part = error.validationContext ?? 'input';
        const issues = validationIssues(error.validation, part);
        return sendProblem(
          reply,
          400,
          'VALIDATION_FAILED',
          `The request ${part} is not valid: ${issues
            .map((issue) => `${issue.field} ${issue.message}`)
            .join('; ')}.`,
          { errors: issues },
        );
      }
      const pg = pgErrorOf(error);
      if (pg) {
        // The schemas should stop bad input first; these keep a missed case a 4xx.
        if (pg.code === '23505') {
          return sendProblem(
            reply,
            409,
            'CONFLICT',
            'The request conflicts with an existing record.',
          );
        }
        if (pg.code === '23503') {
          return sendProblem(
            reply,
            422,
            'REFERENCE_NOT_FOUND',
            'The request refers to a record that does not exist.',
          );
        }
        if (pg.code.startsWith('22')) {
          return sendProblem(
            reply,
            400,
            'INVALID_VALUE',
            'A value in the request is out of range or malformed.',
          );
        }
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        const [code, detail] = fastifyRefusals[error.code] ?? [
          'BAD_REQUEST',
          'The request is not valid.',
        ];
        return sendProblem(reply, status, code, detail);
      }
      request.log.error({ err: error }, 'request failed');
      return sendProblem(
        reply,
        500,
        'INTERNAL_ERROR',
        'Something went wrong on our side; it has been logged.',
      );
    });
  },
  { name: 'errors' },
);

/**
 * What Fastify refuses while routing, before any hook or the error handler
 * runs: a URL with a malformed %-escape (400) and a path segment longer than
 * `maxParamLength` (414). Its own answers are JSON that quotes the path.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
) {
  const [code, detail] = fastifyRefusals[error.code] ?? [
    'INTERNAL_ERROR',
    'Something went wrong on our side; it has been logged.',
  ];
  const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
  if (status >= 500) reply.log.error({ err: error }, 'routing failed');
  return sendProblem(reply, status, code, detail);
}

const clientErrors: Record<string, [status: number, code: string, detail: string]> = {
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'The request headers are too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'The request took too long to arrive.'],
  HPE_INVALID_HEADER_TOKEN: [
    400,
    'INVALID_HEADER',
    'A request header holds a character HTTP does not allow (a control character?).',
  ],
  HPE_INVALID_METHOD: [405, 'METHOD_NOT_ALLOWED', 'The request method is not one this API knows.'],
};

/** Node hands over a Buffer, though Fastify's types say `{ type, data }`. */
const rawText = (packet: unknown) => (Buffer.isBuffer(packet) ? packet.toString('latin1') : '');

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a header with
 * a control character, headers over the size limit, an unknown method) are
 * answered with problem+json like every other refusal. The raw packet is not
 * logged: it holds the URL and headers.
 */
export function clientErrorHandler(routes: RouteTable) {
  return function (this: FastifyInstance, error: ConnectionError, socket: Socket) {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, detail] = clientErrors[error.code ?? ''] ?? [
      400,
      'BAD_REQUEST',
      'The request is not valid HTTP.',
    ];
    const headers: string[] = [];
    if (code === 'METHOD_NOT_ALLOWED') {
      const target = /^\S+ (\S+)/.exec(rawText(error.rawPacket))?.[1];
      const allowed = target ? routes.allowed(pathOf(target)) : [];
      if (allowed.length > 0) headers.push(`Allow: ${allowed.join(', ')}`);
    }
    this.log.info({ code: error.code, status }, 'refused a request HTTP could not parse');
    const body = JSON.stringify(problemDocument(status, code, detail));
    if (socket.writable) {
      socket.write(
        [
          `HTTP/1.1 ${status} ${problemDocument(status, code, detail).title}`,
          'Content-Type: application/problem+json',
          `Content-Length: ${Buffer.byteLength(body)}`,
          'Connection: close',
          ...headers,
          '',
          body,
        ].join('\r\n'),
      );
    }
    socket.destroy();
  };
}
