import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A child process the stack started and must stop again. */
export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Set when the program could not be started at all (missing, not executable). */
  failure(): Error | undefined;
  stop(): Promise<void>;
}

export interface SpawnServiceOptions extends SpawnOptions {
  /** Where stdout and stderr go; the file survives the process for post-mortems. */
  logFile: string;
  /** The signal that asks this program to shut down cleanly. */
  stopSignal?: NodeJS.Signals;
}

export function spawnService(
  name: string,
  command: string,
  args: string[],
  { logFile, stopSignal = 'SIGTERM', ...options }: SpawnServiceOptions,
): ManagedProcess {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // A program that cannot be started emits 'error' and never 'exit'.
    child.once('error', (error) => {
      spawnError = new Error(`could not start ${name} (${command}): ${error.message}`, {
        cause: error,
      });
      resolve();
    });
  });
  void exited.then(() => log.end());
  return {
    name,
    child,
    failure: () => spawnError,
    async stop() {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) return;
      child.kill(stopSignal);
      const stopped = await Promise.race([
        exited.then(() => true),
        sleep(10_000, false, { ref: false }),
      ]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Asks the kernel for a port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

export async function isPortOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, host);
  });
}

/**
 * Polls `probe` until it answers true. Fails early, with the log's location,
 * when the process it waits for has already died.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  {
    timeoutMs = 60_000,
    process,
    logFile,
  }: { timeoutMs?: number; process?: ManagedProcess; logFile?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // The log's last lines go into the message: a throw-away data folder (and the
  // log in it) is removed when start-up fails.
  const where = () => (logFile ? ` (${logFile}):\n${logTail(logFile)}` : '');
  while (Date.now() < deadline) {
    const failure = process?.failure();
    if (failure) throw failure;
    if (process && process.child.exitCode !== null) {
      throw new Error(
        `${what} exited with code ${process.child.exitCode} before it was ready${where()}`,
      );
    }
    if (await probe().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} was not ready after ${timeoutMs / 1000} s${where()}`);
}

/** The last lines of a log file, or a note that there is none. */
function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}
