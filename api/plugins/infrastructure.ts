import { Client, type Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../lib/config';
import { connectTemporal } from '../../lib/temporal';
import { createDatabase, type Database } from '../../db/client';
import { createSearchClient } from '../../search/client';
import type { Meilisearch } from 'meilisearch';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    db: Database;
    temporal: Client;
    meili: Meilisearch;
  }
}

/**
 * The app's connections: one Postgres pool and one Temporal connection for the
 * process, opened at start-up and closed with the app.
 */
export default fp(
  async function infrastructure(app: FastifyInstance, { config }: { config: Config }) {
    app.decorate('config', config);

    const database = createDatabase(config.databaseUrl);
    app.decorate('db', database.db);
    app.addHook('onClose', () => database.close());

    app.decorate('meili', createSearchClient(config.meili));

    const connection: Connection = await connectTemporal(config.temporal, {
      rpcAttempts: 3,
    });
    app.decorate('temporal', new Client({ connection, namespace: config.temporal.namespace }));
    app.addHook('onClose', () => connection.close());
  },
  { name: 'infrastructure' },
);
