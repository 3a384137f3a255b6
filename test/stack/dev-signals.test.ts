/**
 * `npm run dev` stops every process it started on SIGTERM, SIGINT or SIGHUP
 * sent to npm's own PID (what a process manager, a terminal closing or a
 * Ctrl-C does), and a second start on the same data folder says so and leaves
 * the first alone. Runs the real dev stack: its own Postgres, Temporal,
 * Meilisearch and MailDev on free ports.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../stack';
import { eventually } from '../helpers';

const root = path.join(import.meta.dirname, '../..');
const dataDir = mkdtempSync(path.join(tmpdir(), 'custodian-dev-'));
let running: ChildProcess[] = [];
/** Every process a test saw started, so a failing test leaves no orphan behind. */
let seen: number[] = [];

/** Every process below `pid`, read from ps before anyone is orphaned. */
function descendantsOf(pid: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of table) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function startDev(port: number) {
  const ports = Object.fromEntries(
    [
      'POSTGRES_PORT',
      'TEMPORAL_PORT',
      'TEMPORAL_UI_PORT',
      'MEILI_PORT',
      'SMTP_PORT',
      'MAIL_WEB_PORT',
    ].map((name) => [name, '0']),
  );
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  const npm = spawn('npm', ['run', 'dev'], {
    cwd: root,
    env: { ...env, ...ports, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(npm);
  let output = '';
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  return { npm, output: () => output, exited };
}

afterEach(() => {
  for (const child of running) seen.push(child.pid!, ...descendantsOf(child.pid!));
  for (const pid of seen) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  running = [];
  seen = [];
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm run dev', () => {
  it.each(['SIGTERM', 'SIGHUP', 'SIGINT'] as const)(
    'stops every process it started when npm gets %s',
    async (signal) => {
      const port = await freePort();
      const dev = await startDev(port);
      await eventually(
        async () => (dev.output().includes('Custodian is running') ? true : undefined),
        150_000,
      );
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      const started = descendantsOf(dev.npm.pid!);
      seen.push(...started);
      // npm, the dev script, worker, API and the four services with their helpers.
      expect(started.length).toBeGreaterThanOrEqual(6);

      if (signal === 'SIGTERM') {
        // A second start on the same data folder touches nothing of the first.
        const second = await startDev(await freePort());
        expect(await second.exited).toBe(1);
        expect(second.output()).toContain('already running');
        expect(started.every(alive)).toBe(true);
        expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      }

      process.kill(dev.npm.pid!, signal);
      await eventually(
        async () => (started.filter(alive).length === 0 ? true : undefined),
        30_000,
      ).catch(() => {
        throw new Error(`still running after ${signal}: ${started.filter(alive).join(', ')}`);
      });
    },
    240_000,
  );
});
