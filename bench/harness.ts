/**
 * What every benchmark and the history recorder share: throw-away services,
 * migrations, the API in-process, a worker, and an admin key — stopped and
 * deleted afterwards whatever happens.
 */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../api/app';
import { createDatabase, type Database } from '../db/client';
import { issueApiKey } from '../db/queries/api-keys';
import { createUser } from '../db/queries/users';
import { runMigrations } from '../db/migrate';
import { loadConfig, type Config } from '../lib/config';
import { startThrowawayStack } from '../stack';
import { startWorker } from '../worker';

export interface Harness {
  app: FastifyInstance;
  config: Config;
  db: Database;
  /** `Authorization` for the seeded admin. */
  headers: { authorization: string };
}

export async function withThrowawayApp<T>(
  name: string,
  run: (harness: Harness) => Promise<T>,
  { env = {}, worker = true }: { env?: Record<string, string>; worker?: boolean } = {},
): Promise<T> {
  const stack = await startThrowawayStack(name);
  try {
    await runMigrations(stack.env.DATABASE_URL!);
    const config = loadConfig({ ...stack.env, LOG_LEVEL: 'silent', ...env });
    const running = worker
      ? await startWorker(config, { shutdownGraceTime: '1 second' })
      : undefined;
    const app = await buildApp({ config, logger: false });
    const database = createDatabase(config.databaseUrl, { max: 4 });
    try {
      const admin = await createUser(database.db, {
        name: 'Bench',
        email: `${randomUUID()}@bench.custodian`,
        isAdmin: true,
      });
      const { key } = await issueApiKey(database.db, admin.id, name);
      return await run({
        app,
        config,
        db: database.db,
        headers: { authorization: `Bearer ${key}` },
      });
    } finally {
      await app.close();
      await running?.shutdown();
      await database.close();
    }
  } finally {
    await stack.destroy();
  }
}
