import { Client } from '@temporalio/client';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { expect, inject } from 'vitest';
import { buildApp } from '../api/app';
import { createDatabase, type Database } from '../db/client';
import { issueApiKey } from '../db/queries/api-keys';
import { createPermissionSet } from '../db/queries/permission-sets';
import { createUser } from '../db/queries/users';
import { loadConfig, type Config } from '../lib/config';
import { connectTemporal } from '../lib/temporal';
import { startWorker, type RunningWorker } from '../worker';

/**
 * Configuration for the test services, with a task queue of this test's own.
 * Job requests wait up to 15 s (not 5 s) before answering 202, so a test that
 * expects a finished job gets one on a busy machine too; each test's timeout
 * (30 s) still bounds it.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...inject('serviceEnv'),
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    LOG_LEVEL: 'silent',
    JOB_REPLY_WAIT: '15s',
    ...overrides,
  });
}

/**
 * A user and an API key. A non-admin holds exactly `permissions`, through a
 * permission set of their own (`setId`); with none they may do nothing but
 * read their own notifications and jobs.
 */
export async function userWithKey(
  db: Database,
  { isAdmin = false, permissions = [] as string[] } = {},
): Promise<{ id: string; key: string; setId: string | undefined }> {
  const set = isAdmin
    ? undefined
    : await createPermissionSet(db, { name: `test ${randomUUID()}`, permissions });
  const user = await createUser(db, {
    name: isAdmin ? 'Test Admin' : 'Test User',
    email: `${randomUUID()}@test.custodian`,
    isAdmin,
    permissionSetIds: set ? [set.id] : [],
  });
  const { key } = await issueApiKey(db, user.id, 'test');
  return { id: user.id, key, setId: set?.id };
}

interface CallOptions {
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  db: Database;
  temporal: Client;
  adminKey: string;
  adminId: string;
  worker: RunningWorker | undefined;
  /** Calls the API as the admin unless another `key` (or `null` for none) is given. */
  call(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url: string,
    options?: CallOptions,
  ): Promise<LightMyRequestResponse>;
  /** POSTs as the admin, asserts 201 and returns the body. */
  create<T = { id: string }>(url: string, body: unknown): Promise<T>;
  close(): Promise<void>;
}

/**
 * The API in-process against the real services, optionally with a worker on
 * the test's own task queue running the pre-bundled workflow code.
 */
export async function startTestApp({
  worker = false,
  config = testConfig(),
  workerOptions = {},
  logStream = undefined,
}: {
  worker?: boolean;
  config?: Config;
  workerOptions?: Parameters<typeof startWorker>[1];
  logStream?: NodeJS.WritableStream | undefined;
} = {}): Promise<TestApp> {
  const app = await buildApp({ config, logger: logStream !== undefined, logStream });
  const database = createDatabase(config.databaseUrl, { max: 4 });
  const connection = await connectTemporal(config.temporal.address);
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const running = worker
    ? await startWorker(config, {
        workflowBundle: { codePath: inject('workflowBundlePath') },
        shutdownGraceTime: '1 second',
        // Tests share one database: a test that delivers webhooks runs its own dispatcher.
        webhooks: false,
        ...workerOptions,
      })
    : undefined;
  const admin = await userWithKey(database.db, { isAdmin: true });
  const call: TestApp['call'] = (method, url, { key = admin.key, body, headers = {} } = {}) =>
    app.inject({
      method,
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  return {
    app,
    config,
    db: database.db,
    temporal,
    adminKey: admin.key,
    adminId: admin.id,
    worker: running,
    call,
    async create<T>(url: string, body: unknown): Promise<T> {
      const response = await call('POST', url, { body });
      expect(response.statusCode, response.body).toBe(201);
      return response.json<T>();
    },
    async close() {
      // Each step is bounded, so a shutdown that hangs names itself instead of timing out the hook.
      await stepWithin('stop the worker', () => running?.shutdown());
      await stepWithin('close the Temporal client', () => connection.close());
      await stepWithin('close the API', () => app.close());
      await stepWithin('close the test pool', () => database.close());
    },
  };
}

/** Asserts a problem+json refusal and returns its body. */
export function problemOf(
  response: LightMyRequestResponse,
): { code: string; status: number; detail: string } & Record<string, unknown> {
  if (!response.headers['content-type']?.toString().startsWith('application/problem+json')) {
    throw new Error(
      `expected problem+json, got ${response.statusCode} ${String(response.headers['content-type'])}: ${response.body}`,
    );
  }
  return response.json();
}

export const uniqueName = (prefix: string) => `${prefix} ${randomUUID().slice(0, 8)}`;

/**
 * Polls `probe` until it returns a value that is not undefined, or fails after
 * `timeoutMs` saying what it waited for, what the probe last returned and the
 * last error it threw. Every wait in the tests goes through here: never sleep.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = describeProbe(probe),
): Promise<T> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const value = await answerBy(probe(), Math.max(deadline - Date.now(), 1_000));
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, deadline - Date.now())));
  }
  const reason =
    lastError === undefined
      ? 'the probe kept answering "not yet"'
      : `the probe last threw: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`;
  throw new Error(
    `Gave up waiting for ${what} after ${Date.now() - started} ms (${attempts} attempts; bound ${timeoutMs} ms): ${reason}`,
    { cause: lastError },
  );
}

/** Runs one step of a shutdown, failing with its name if it takes longer than `ms`. */
async function stepWithin(what: string, step: () => Promise<unknown> | undefined, ms = 30_000) {
  await answerBy(Promise.resolve(step()), ms).catch((error: unknown) => {
    throw new Error(
      `Could not ${what}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  });
}

/** The promise's value, or a rejection if it has not settled within `ms` (a probe that hangs is a wait too). */
async function answerBy<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The probe's own source, squeezed onto one line, for waits that were given no description. */
function describeProbe(probe: () => unknown): string {
  const source = probe.toString().replace(/\s+/g, ' ');
  return source.length > 160 ? `${source.slice(0, 157)}...` : source;
}

/** A word no other test uses, made of letters only (search tokenises on everything else). */
export function uniqueWord(prefix = 'zq'): string {
  const letters = 'bcdfghjklmnpqrstvwxz';
  let word = prefix;
  for (let i = 0; i < 8; i++) word += letters[Math.floor(Math.random() * letters.length)];
  return word;
}

/** A workflow's history as text, with every payload decoded, to look for what must not be there. */
export async function decodedHistory(temporal: Client, workflowId: string): Promise<string> {
  const history = JSON.stringify(await temporal.workflow.getHandle(workflowId).fetchHistory());
  return history.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_m, b64: string) =>
    Buffer.from(b64, 'base64').toString('utf8'),
  );
}

export interface InboxEmail {
  id: string;
  subject: string;
  text: string;
  /** The HTML alternative, when the email has one. */
  html?: string;
  to: { address: string }[];
}

/** The emails the test SMTP server (MailDev) received for `address`, read over its REST API. */
export async function inboxOf(address: string): Promise<InboxEmail[]> {
  const response = await fetch(`${inject('serviceEnv').MAIL_INBOX_URL}/api/email`);
  if (!response.ok) throw new Error(`MailDev answered ${response.status}`);
  const emails = (await response.json()) as InboxEmail[];
  return emails.filter((email) => email.to.some((to) => to.address === address));
}

/** Which test file writes day-bucketed report cells in which years: one lane each, so none meets another's. */
export const reportLanes = {
  reports: 0,
  timelineWrites: 1,
  concurrentWrites: 2,
  deletions: 3,
} as const;

/**
 * A random day in the twelve years of `lane` (1971 + 12 × lane on): a day no
 * other test file writes to, so the report's cells on it are the caller's
 * alone. Two files on one lane could meet; different lanes never do.
 */
export function privateDay(lane: number): Date {
  const day = new Date(Date.UTC(1971 + 12 * lane, 0, 1));
  day.setUTCDate(day.getUTCDate() + Math.floor(Math.random() * 4000));
  return day;
}

/**
 * Defines the custom attributes a test file writes (values are checked against
 * definitions), or finds them defined already: test files share one database,
 * so two files that use `plan` must agree on its type.
 */
export async function defineAttributes(
  t: TestApp,
  entity: 'customer' | 'company',
  types: Record<string, string>,
): Promise<void> {
  for (const [name, type] of Object.entries(types)) {
    const response = await t.call('POST', '/v1/attribute-definitions', {
      body: { entity, name, label: name, type },
    });
    if (response.statusCode === 201) continue;
    expect(response.statusCode, response.body).toBe(409);
    expect(problemOf(response).code).toBe('ATTRIBUTE_NAME_TAKEN');
  }
}

/** Rows in each table whose text holds `needle` (case-insensitively): where an erasure missed a copy. */
export async function tablesHolding(db: Database, needle: string): Promise<Record<string, number>> {
  const tables = await db.execute<{ table_name: string }>(sql`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'`);
  const found: Record<string, number> = {};
  for (const { table_name } of tables.rows) {
    const result = await db.execute<{ n: string }>(
      sql`select count(*) as n from ${sql.identifier(table_name)} t where t::text ilike ${`%${needle}%`}`,
    );
    const n = Number(result.rows[0]?.n ?? 0);
    if (n > 0) found[table_name] = n;
  }
  return found;
}
