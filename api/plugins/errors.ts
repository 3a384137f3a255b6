import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { pgErrorOf } from '../../db/errors';
import { DomainError, type DomainErrorKind } from '../../lib/errors';
import { sendProblem } from '../problem';

/** The one table from a refusal's kind to its HTTP status. */
export const statusOfKind: Record<DomainErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  not_allowed: 405,
  conflict: 409,
  unprocessable: 422,
  unavailable: 503,
};

const codeOfFastifyError: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_JSON_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

/**
 * One error handler for the whole API: every refusal becomes problem+json with
 * a stable `code`; anything unexpected is logged with the request and answered
 * without internals.
 */
export default fp(
  async function errors(app: FastifyInstance) {
    app.setNotFoundHandler((request, reply) =>
      sendProblem(
        reply,
        404,
        'ROUTE_NOT_FOUND',
        `No route answers ${request.method} ${request.url}.`,
      ),
    );

    app.setErrorHandler((error: FastifyError, request, reply) => {
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
        return sendProblem(
          reply,
          400,
          'VALIDATION_FAILED',
          `The request ${error.validationContext ?? 'input'} is not valid.`,
          {
            errors: error.validation.map((issue) => ({
              path: issue.instancePath || '/',
              message: issue.message ?? 'is not valid',
              ...(issue.keyword === 'additionalProperties'
                ? { property: (issue.params as { additionalProperty?: string }).additionalProperty }
                : {}),
            })),
          },
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
        return sendProblem(
          reply,
          status,
          codeOfFastifyError[error.code] ?? 'BAD_REQUEST',
          error.message,
        );
      }
      request.log.error({ err: error, route: request.routeOptions.url }, 'request failed');
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
