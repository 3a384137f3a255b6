import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config } from '../lib/config';
import { errorLogView, RequestLogController, requestLogging, requestLogView } from './logging';
import errors, { clientErrorHandler, frameworkErrorHandler } from './plugins/errors';
import { RouteTable } from './route-table';
import infrastructure from './plugins/infrastructure';
import metrics from './plugins/metrics';
import openapi from './plugins/openapi';
import validation from './plugins/validation';
import health from './routes/health';
import v1 from './routes';

export interface BuildAppOptions {
  config: Config;
  logger?: boolean;
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: DestinationStream;
}

/** The whole HTTP API as one Fastify instance; the caller decides whether to listen. */
export async function buildApp({
  config,
  logger = true,
  logStream,
}: BuildAppOptions): Promise<FastifyInstance> {
  const routes = new RouteTable();
  const app = Fastify({
    logger: logger
      ? {
          level: config.logLevel,
          serializers: { req: requestLogView, err: (error) => errorLogView(error) },
          ...(logStream ? { stream: logStream } : {}),
        }
      : false,
    bodyLimit: 5 * 1024 * 1024,
    logController: new RequestLogController(),
    clientErrorHandler: clientErrorHandler(routes),
    frameworkErrors: frameworkErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(requestLogging);
  await app.register(validation);
  await app.register(errors, { routes });
  await app.register(infrastructure, { config });
  await app.register(metrics);
  await app.register(openapi);
  await app.register(health);
  await app.register(v1, { prefix: '/v1' });
  return app;
}
