import { ApplicationFailure, IllegalStateError } from '@temporalio/common';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type LogMetadata,
  type Logger,
  type WorkflowBundlePath,
} from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { fileURLToPath } from 'node:url';
import { createActivities } from './activities';
import { createDatabase } from './db/client';
import { describeError, describeErrorLine, isError, stackFramesOf } from './db/errors';
import { purgeExpiredMergeJournals } from './db/queries/merge-journals';
import { foldConversationStatChanges } from './db/queries/reporting';
import { loadConfig, type Config } from './lib/config';
import { purgeExpiredPrivacyRecords } from './operations/privacy-retention';
import { ensureReconcileSchedule } from './lib/job-workflows';
import { startMetricsListener } from './lib/metrics-listener';
import { connectTemporal, ensureSearchAttributes, temporalConnectionOptions } from './lib/temporal';
import { createMailer } from './notifications/mailer';
import { createSearchClient } from './search/client';
import { startSearchSync, type SearchSync } from './search/sync';
import { startWebhookDispatcher } from './webhooks/dispatcher';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped; rejects if it crashed. */
  done: Promise<void>;
  searchSync: SearchSync;
  shutdown(): Promise<void>;
}

/**
 * A logger that writes every error in a log line's metadata as `describeError`
 * says (class, code, SQLSTATE, constraint) and where it was thrown: the SDK
 * logs the errors it handles ("Activity failed", a failed workflow
 * activation) with their message and causes, which may quote personal data.
 */
export function redactingLogger(next: Logger): Logger {
  const redact = (meta: LogMetadata | undefined): LogMetadata | undefined => {
    if (!meta) return meta;
    // A spread keeps the SDK's timestamp, which sits under a symbol key.
    const safe: LogMetadata = { ...meta };
    for (const [key, value] of Object.entries(meta)) {
      if (value instanceof ApplicationFailure) {
        // Made by activities/failures.ts or the SDK: its type and message are codes, not data.
        const { type, message, nonRetryable } = value;
        safe[key] = { type, message, nonRetryable, stack: stackFramesOf(value) };
      } else if (isError(value)) {
        safe[key] = { ...describeError(value), stack: stackFramesOf(value) };
      }
    }
    return safe;
  };
  const log = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    next.log(level, message, redact(meta));
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

/**
 * Installs the process's Temporal Runtime with `redactingLogger` in front of
 * `sink`, and Core's own log lines forwarded to it (instead of straight to
 * stderr); with `metricsBindAddress` (host:port), the SDK serves its own
 * Prometheus metrics there. The Runtime is one per process: false when one
 * was already installed (a test installs its own, collecting sink first).
 */
export function installWorkerLogging(
  sink: Logger = new DefaultLogger('INFO'),
  { metricsBindAddress }: { metricsBindAddress?: string | undefined } = {},
): boolean {
  try {
    Runtime.install({
      logger: redactingLogger(sink),
      telemetryOptions: {
        logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
        ...(metricsBindAddress
          ? { metrics: { prometheus: { bindAddress: metricsBindAddress } } }
          : {}),
      },
    });
    return true;
  } catch (error) {
    if (error instanceof IllegalStateError) return false;
    throw error;
  }
}

/** An IPv6 host in brackets, as host:port needs it. */
const bracketed = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** An address to connect to for one a server binds: a wildcard bind is reached on loopback. */
const reachable = (host: string) =>
  host === '0.0.0.0' || host === '::' ? '127.0.0.1' : bracketed(host);

/**
 * Runs `task` every `everyMs`, one run at a time; a failed run is left to the
 * next one. `stop` waits for the run under way.
 */
function startPeriodic(task: () => Promise<unknown>, everyMs: number): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => task().catch(() => undefined /* next round retries */));
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
    /** Creates (or updates) the Schedule that runs the job reconciler; the worker process does. */
    reconcileSchedule?: boolean;
    /** Runs the webhook dispatcher (default); tests that deliver start their own. */
    webhooks?: boolean;
    /** The dispatcher serves these endpoints only (tests sharing one database); all by default. */
    webhookEndpoints?: string[];
  } = {},
): Promise<RunningWorker> {
  const metricsAt = config.metrics.worker;
  const installed = installWorkerLogging(undefined, {
    metricsBindAddress: metricsAt && `${bracketed(metricsAt.host)}:${metricsAt.sdkPort}`,
  });
  const logger = Runtime.instance().logger;
  if (metricsAt && !installed) {
    logger.warn(
      `The Temporal Runtime was installed earlier in this process: the SDK serves no metrics on port ${metricsAt.sdkPort} unless that installation asked for them`,
    );
  }
  // Before anything else can fail to start, so a port already taken stops the worker at once.
  const metrics = metricsAt
    ? await startMetricsListener({
        host: metricsAt.host,
        port: metricsAt.port,
        sdkUrl: `http://${reachable(metricsAt.host)}:${metricsAt.sdkPort}/metrics`,
      })
    : undefined;
  const client = await connectTemporal(config.temporal);
  if (config.temporal.registerSearchAttributes) {
    await ensureSearchAttributes(client, config.temporal.namespace);
  }
  // Activities ask Temporal about job workflows and signal GDPR request workflows.
  const temporal = new Client({ connection: client, namespace: config.temporal.namespace });
  if (options.reconcileSchedule) {
    await ensureReconcileSchedule(temporal, {
      taskQueue: options.taskQueue ?? config.temporal.taskQueue,
      intervalMs: config.reconcile.intervalMs,
    });
  }

  const database = createDatabase(config.databaseUrl);
  const search = createSearchClient(config.meili);
  const mailer = createMailer(config.smtp);
  const searchSync = startSearchSync({
    db: database.db,
    databaseUrl: config.databaseUrl,
    meili: search,
    prefix: config.meili.indexPrefix,
    log: (message, error) => {
      logger.warn(`[search-sync] ${message}`, error === undefined ? {} : describeError(error));
    },
  });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue ?? config.temporal.taskQueue,
    activities: createActivities({
      db: database.db,
      search,
      mailer,
      config,
      searchSync,
      temporal,
    }),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    shutdownGraceTime: options.shutdownGraceTime ?? '10 seconds',
    ...(options.maxCachedWorkflows === undefined
      ? {}
      : { maxCachedWorkflows: options.maxCachedWorkflows }),
  });
  // Folds the conversation counters' change log into the daily totals now and
  // then, so reports read few rows (they are exact whether it ran or not), and
  // purges merge journals past their undo window (an undo refuses an expired
  // journal even before the purge reaches it).
  const maintenance = startPeriodic(
    () =>
      Promise.allSettled([
        foldConversationStatChanges(database.db),
        purgeExpiredMergeJournals(database.db),
      ]),
    10_000,
  );
  // Closed privacy requests past their records retention are purged (operations/privacy-retention.ts).
  const recordsPurge = startPeriodic(
    () => purgeExpiredPrivacyRecords(database.db, config.privacy.recordsRetentionDays),
    config.privacy.purgeIntervalMs,
  );
  const webhooks =
    (options.webhooks ?? true) &&
    startWebhookDispatcher({
      db: database.db,
      databaseUrl: config.databaseUrl,
      config: config.webhooks,
      ...(options.webhookEndpoints ? { onlyEndpoints: () => options.webhookEndpoints! } : {}),
      log: (message, error) => {
        logger.warn(`[webhooks] ${message}`, error === undefined ? {} : describeError(error));
      },
    });
  const done = worker.run().finally(async () => {
    if (webhooks) await webhooks.stop();
    await searchSync.stop();
    await maintenance.stop();
    await recordsPurge.stop();
    mailer.close();
    await connection.close();
    await client.close();
    await database.close();
    await metrics?.close();
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
  const running = await startWorker(config, { reconcileSchedule: true });
  const metricsAt = config.metrics.worker;
  if (metricsAt) {
    console.log(`worker metrics on http://${metricsAt.host}:${metricsAt.port}/metrics`);
  }
  console.log(
    `worker polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address}`,
  );
  await running.done;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(`worker stopped: ${describeErrorLine(error)}\n${stackFramesOf(error)}`);
    process.exit(1);
  });
}
