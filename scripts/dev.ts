/**
 * `npm run dev`: starts PostgreSQL, Temporal (+ UI), Meilisearch and MailDev
 * on this machine (or uses those whose address variable is set), applies
 * migrations, seeds the admin, then runs the worker and the API until Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDatabase } from '../db/client';
import { generateApiKey, looksLikeApiKey } from '../db/queries/api-keys';
import { ensureAdmin } from '../db/queries/seed';
import { runMigrations } from '../db/migrate';
import { parseInteger } from '../lib/config';
import { projectRoot, startStack, type Stack } from '../stack';

const env = process.env;
const dataDir = path.resolve(env.DATA_DIR || path.join(projectRoot, '.data'));
const apiPort = parseInteger(env, 'PORT', 3000, { max: 65535 });

const say = (line: string) => console.log(`[dev] ${line}`);

/** A secret generated once and kept in the data folder, unless the environment gives one. */
function persistentSecret(
  name: string,
  fromEnv: string | undefined,
  generate: () => string,
): string {
  if (fromEnv) return fromEnv;
  const file = path.join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = generate();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

/** Whether a process with that PID exists (signal 0 checks without sending anything). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One dev stack per data folder: its PID in `dev.pid`, created exclusively so
 * two starts at once cannot both win. A second start says who runs and
 * touches nothing of theirs; a file left by a stack that died is taken over.
 */
function claimDataDir(): () => void {
  const file = path.join(dataDir, 'dev.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (readFileSync(file, 'utf8').trim() === String(process.pid))
          rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
        throw new AlreadyRunning(holder);
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not claim ${file}`);
}

class AlreadyRunning extends Error {
  constructor(readonly pid: number) {
    super(
      `Custodian dev is already running on ${dataDir} (pid ${pid}); stop it first, or set DATA_DIR for a second one.`,
    );
  }
}

async function waitForApi(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error('the API exited during start-up');
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error('the API did not answer /health within 2 minutes');
}

async function main() {
  mkdirSync(dataDir, { recursive: true });
  const release = claimDataDir();
  const adminKey = persistentSecret('admin-api-key', env.ADMIN_API_KEY, generateApiKey);
  if (!looksLikeApiKey(adminKey)) {
    throw new Error('ADMIN_API_KEY must look like cust_ followed by 43 base64url characters');
  }
  const meiliMasterKey = persistentSecret('meili-master-key', env.MEILI_MASTER_KEY, () =>
    randomBytes(24).toString('base64url'),
  );

  const services: Stack[] = [];
  const children: ChildProcess[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
    await Promise.all(services.map((stack) => stack.stop()));
    release();
    say('stopped');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => void shutdown(0));
  }
  // npm forwards SIGTERM and SIGINT to this process (package.json execs it) but
  // dies of SIGHUP or SIGKILL alone: a parent gone leaves this process adopted,
  // and the stack stops instead of living on as orphans.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      say(`the process that started this one (pid ${parent}) is gone`);
      void shutdown(0);
    }
  }, 500).unref();

  const started = await startStack({
    dataDir,
    ports: {
      postgres: parseInteger(env, 'POSTGRES_PORT', 54329, { max: 65535 }),
      temporal: parseInteger(env, 'TEMPORAL_PORT', 7233, { max: 65535 }),
      temporalUi: parseInteger(env, 'TEMPORAL_UI_PORT', 8233, { max: 65535 }),
      meilisearch: parseInteger(env, 'MEILI_PORT', 7700, { max: 65535 }),
      smtp: parseInteger(env, 'SMTP_PORT', 1025, { max: 65535 }),
      mailWeb: parseInteger(env, 'MAIL_WEB_PORT', 1080, { max: 65535 }),
    },
    meiliMasterKey,
    log: say,
  });
  services.push(started);
  if (stopping) return;

  const childEnv: Record<string, string | undefined> = {
    ...env,
    ...started.env,
    PORT: String(apiPort),
  };
  say('applying migrations');
  const databaseUrl = started.env.DATABASE_URL!;
  await runMigrations(databaseUrl, { log: say, env: childEnv });
  const database = createDatabase(databaseUrl, { max: 1 });
  await ensureAdmin(database.db, adminKey);
  await database.close();

  for (const [name, entry] of [
    ['worker', 'worker.ts'],
    ['api', 'api/server.ts'],
  ] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, entry)], {
      cwd: projectRoot,
      env: childEnv,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code, signal) => {
      if (!stopping) {
        say(`${name} exited (${signal ?? `code ${code}`}); stopping everything`);
        void shutdown(1);
      }
    });
    children.push(child);
  }

  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitForApi(apiUrl, children[1]!);
  console.log(`
  Custodian is running.

  API              ${apiUrl}/v1
  API docs         ${apiUrl}/docs   (OpenAPI: ${apiUrl}/openapi.json)
  Admin API key    ${adminKey}
  Temporal UI      ${started.links.temporalUi ?? '(external Temporal; set TEMPORAL_UI_URL)'}
  Meilisearch      ${started.links.meilisearch}
  Mail inbox       ${started.links.mailInbox ?? '(external SMTP)'}
  Data             ${dataDir}

  Try: curl -H "Authorization: Bearer ${adminKey}" ${apiUrl}/v1/me
  Ctrl-C stops everything.
`);
}

main().catch((error: unknown) => {
  if (error instanceof AlreadyRunning) {
    console.error(`[dev] ${error.message}`);
    process.exit(1);
  }
  console.error('[dev] failed:', error instanceof Error ? error.message : error);
  if (error instanceof AggregateError)
    for (const e of error.errors) console.error(`  - ${String(e)}`);
  process.exit(1);
});
