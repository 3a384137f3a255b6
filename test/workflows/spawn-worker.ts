import { spawn, type ChildProcess } from 'node:child_process';
import { inject } from 'vitest';
import { projectRoot } from '../../stack';

/** How long a worker process may take to start polling. */
const WORKER_START_MS = 30_000;

/** A worker in a process of its own, so the test can kill it like a crash would. */
export function spawnWorker(
  taskQueue: string,
  workers: ChildProcess[],
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/workflows/worker-process.ts'], {
    cwd: projectRoot,
    env: {
      ...process.env,
      ...inject('serviceEnv'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      TEST_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Registered at once, so afterAll kills it even if it never starts polling.
  workers.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(
          `Gave up waiting for the worker process to print "worker polling" after ${WORKER_START_MS} ms; its output ended with: ${output.slice(-2000)}`,
        ),
      );
    }, WORKER_START_MS);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker polling')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited early (${code}): ${output.slice(-2000)}`));
    });
  });
}
