/**
 * The launcher used by `npm run dev` and by the test suite: it starts real
 * PostgreSQL, Temporal, Meilisearch and SMTP servers on this machine, and
 * uses an existing one instead wherever its address variable is set.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMail } from './mail';
import { startMeilisearch } from './meilisearch';
import { startPostgres } from './postgres';
import { freePort } from './process';
import { startTemporal } from './temporal';
import type { StartedService } from './types';

export { projectRoot } from './binaries';
export { freePort } from './process';

/** Ports of the embedded services; 0 picks a free one. */
export interface StackPorts {
  postgres: number;
  temporal: number;
  temporalUi: number;
  meilisearch: number;
  smtp: number;
  mailWeb: number;
}

export interface StackOptions {
  dataDir: string;
  ports: StackPorts;
  /** Skip Temporal's web UI (tests do not need it). */
  headless?: boolean;
  meiliMasterKey: string;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
}

export interface Stack {
  /** The variables the API and worker read their service addresses from. */
  env: Record<string, string>;
  links: { temporalUi?: string; mailInbox?: string; meilisearch: string };
  stop(): Promise<void>;
}

async function pick(port: number): Promise<number> {
  return port === 0 ? freePort() : port;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const { dataDir, ports } = options;
  const logs = path.join(dataDir, 'logs');
  mkdirSync(logs, { recursive: true });
  const logFile = (name: string) => path.join(logs, `${name}.log`);

  const started: StartedService[] = [];
  const track = <T extends StartedService>(service: T): T => {
    started.push(service);
    return service;
  };
  const stop = async () => {
    await Promise.allSettled(started.reverse().map((service) => service.stop()));
    started.length = 0;
  };

  const result: Stack = { env: {}, links: { meilisearch: '' }, stop };
  const tasks: Promise<void>[] = [];

  if (env.DATABASE_URL) {
    result.env.DATABASE_URL = env.DATABASE_URL;
  } else {
    tasks.push(
      (async () => {
        const port = await pick(ports.postgres);
        log(`starting PostgreSQL on 127.0.0.1:${port}`);
        const pg = track(await startPostgres({ dataDir, port, logFile: logFile('postgres') }));
        result.env.DATABASE_URL = pg.url;
      })(),
    );
  }

  if (env.TEMPORAL_ADDRESS) {
    result.env.TEMPORAL_ADDRESS = env.TEMPORAL_ADDRESS;
    if (env.TEMPORAL_UI_URL) result.links.temporalUi = env.TEMPORAL_UI_URL;
  } else {
    tasks.push(
      (async () => {
        const port = await pick(ports.temporal);
        const uiPort = await pick(ports.temporalUi);
        log(`starting Temporal on 127.0.0.1:${port}`);
        const temporal = track(
          await startTemporal({
            dataDir,
            port,
            uiPort,
            headless: options.headless ?? false,
            logFile: logFile('temporal'),
          }),
        );
        result.env.TEMPORAL_ADDRESS = temporal.url;
        if (temporal.uiUrl) {
          result.env.TEMPORAL_UI_URL = temporal.uiUrl;
          result.links.temporalUi = temporal.uiUrl;
        }
      })(),
    );
  }

  if (env.MEILI_URL) {
    result.env.MEILI_URL = env.MEILI_URL;
    if (env.MEILI_MASTER_KEY) result.env.MEILI_MASTER_KEY = env.MEILI_MASTER_KEY;
    result.links.meilisearch = env.MEILI_URL;
  } else {
    tasks.push(
      (async () => {
        const port = await pick(ports.meilisearch);
        log(`starting Meilisearch on 127.0.0.1:${port}`);
        const meili = track(
          await startMeilisearch({
            dataDir,
            port,
            masterKey: options.meiliMasterKey,
            logFile: logFile('meilisearch'),
          }),
        );
        result.env.MEILI_URL = meili.url;
        result.env.MEILI_MASTER_KEY = meili.masterKey;
        result.links.meilisearch = meili.url;
      })(),
    );
  }

  if (env.SMTP_URL) {
    result.env.SMTP_URL = env.SMTP_URL;
    if (env.MAIL_INBOX_URL) result.links.mailInbox = env.MAIL_INBOX_URL;
  } else {
    tasks.push(
      (async () => {
        const smtpPort = await pick(ports.smtp);
        const webPort = await pick(ports.mailWeb);
        log(`starting MailDev (SMTP) on 127.0.0.1:${smtpPort}`);
        const mail = track(
          await startMail({ dataDir, smtpPort, webPort, logFile: logFile('maildev') }),
        );
        result.env.SMTP_URL = mail.url;
        result.env.MAIL_INBOX_URL = mail.inboxUrl;
        result.links.mailInbox = mail.inboxUrl;
      })(),
    );
  }

  const outcomes = await Promise.allSettled(tasks);
  const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failures.length > 0) {
    await stop();
    throw new AggregateError(
      failures.map((f) => f.reason as Error),
      failures.map((f) => (f.reason as Error).message).join('; '),
    );
  }
  return result;
}

/**
 * Options for services that live only as long as one run (tests, benchmarks):
 * free ports, no UI, a random key, and never the services the environment
 * points at, since the caller writes and deletes freely.
 */
export function throwawayStackOptions(dataDir: string, log?: (line: string) => void): StackOptions {
  return {
    dataDir,
    ports: { postgres: 0, temporal: 0, temporalUi: 0, meilisearch: 0, smtp: 0, mailWeb: 0 },
    headless: true,
    meiliMasterKey: randomBytes(24).toString('base64url'),
    env: {},
    ...(log ? { log } : {}),
  };
}

/** Starts throw-away services in a fresh temp folder; `destroy` stops them and deletes the folder. */
export async function startThrowawayStack(
  name: string,
): Promise<Stack & { dataDir: string; destroy(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `custodian-${name}-`));
  try {
    const stack = await startStack(throwawayStackOptions(dataDir));
    return {
      ...stack,
      dataDir,
      async destroy() {
        await stack.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
