import { NativeConnection, Worker, type WorkflowBundlePath } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities } from './activities';
import { createDatabase, type Database } from './db/client';
import { foldConversationStatChanges } from './db/queries/reporting';
import { loadConfig, type Config } from './lib/config';
import { connectTemporal, ensureSearchAttributes } from './lib/temporal';
import { createMailer } from './notifications/mailer';
import { createSearchClient } from './search/client';
import { startSearchSync, type SearchSync } from './search/sync';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped; rejects if it crashed. */
  done: Promise<void>;
  searchSync: SearchSync;
  shutdown(): Promise<void>;
}

/**
 * Folds the conversation counters' change log into the daily totals now and
 * then, so reports read few rows. Reports are exact whether it ran or not.
 */
function startStatFolding(db: Database, everyMs = 10_000): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() =>
      foldConversationStatChanges(db).catch(() => undefined /* next round retries */),
    );
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Starts a worker for Custodian's task queue. Tests pass a pre-built
 * `workflowBundle` so the workflow code is bundled once per run.
 */
export async function startWorker(
  config: Config,
  options: {
    workflowBundle?: WorkflowBundlePath;
    taskQueue?: string;
    shutdownGraceTime?: string;
    /** 0 replays every workflow task from history (no sticky cache). */
    maxCachedWorkflows?: number;
  } = {},
): Promise<RunningWorker> {
  const client = await connectTemporal(config.temporal.address);
  await ensureSearchAttributes(client, config.temporal.namespace);
  await client.close();

  const database = createDatabase(config.databaseUrl);
  const search = createSearchClient(config.meili);
  const mailer = createMailer(config.smtp);
  const searchSync = startSearchSync({
    db: database.db,
    databaseUrl: config.databaseUrl,
    meili: search,
    prefix: config.meili.indexPrefix,
    log: (message, error) =>
      console.warn(`[search-sync] ${message}`, error instanceof Error ? error.message : ''),
  });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue ?? config.temporal.taskQueue,
    activities: createActivities({ db: database.db, search, mailer, config, searchSync }),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    shutdownGraceTime: options.shutdownGraceTime ?? '10 seconds',
    ...(options.maxCachedWorkflows === undefined
      ? {}
      : { maxCachedWorkflows: options.maxCachedWorkflows }),
  });
  const statFolding = startStatFolding(database.db);
  const done = worker.run().finally(async () => {
    await searchSync.stop();
    await statFolding.stop();
    mailer.close();
    await connection.close();
    await database.close();
  });
  return {
    worker,
    done,
    searchSync,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

async function main() {
  const config = loadConfig();
  const running = await startWorker(config);
  console.log(
    `worker polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address}`,
  );
  await running.done;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
