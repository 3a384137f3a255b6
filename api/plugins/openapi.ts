import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { PROBLEM_CONTENT_TYPE } from '../problem';
import { Problem } from '../schemas/common';

const descriptions: Record<string, string> = {
  400: 'Bad input (`VALIDATION_FAILED` lists every refused field, with allowed values for enumerations)',
  401: 'Missing, unknown or revoked API key',
  403: 'The API key lacks the permission',
  404: 'Not found',
  405: 'Method not allowed (`Allow` lists the methods)',
  409: 'Conflict',
  413: 'The body is larger than the API accepts',
  415: 'The body is not JSON',
  422: 'A reference or rule refuses the request',
  500: 'A fault on our side; it has been logged',
  503: 'A service the request needs is unavailable; try again shortly',
};

/**
 * Every problem response is documented as `application/problem+json`, and every
 * route documents the refusals any route can give: 500, and 413 / 415 where it
 * takes a body. Runs before @fastify/swagger reads the route.
 */
function documentProblems(route: RouteOptions) {
  const schema = route.schema as { response?: Record<string, unknown>; body?: unknown } | undefined;
  if (!schema?.response) return;
  const { response } = schema;
  for (const status of schema.body ? [413, 415, 500] : [500]) response[status] ??= Problem;
  for (const [status, value] of Object.entries(response)) {
    if (value !== Problem) continue;
    response[status] = {
      description: descriptions[status] ?? 'Refused',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } },
    };
  }
}

export default fp(
  async function openapi(app: FastifyInstance) {
    app.addHook('onRoute', documentProblems);
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Custodian',
          version: '0.1.0',
          description:
            'Customer profiles and timelines. Every operation that reshapes a profile runs as a durable Temporal workflow. ' +
            'Errors are application/problem+json with a stable `code`.',
        },
        components: {
          securitySchemes: {
            apiKey: { type: 'http', scheme: 'bearer', description: 'A Custodian API key' },
          },
        },
        security: [{ apiKey: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  },
  { name: 'openapi' },
);
