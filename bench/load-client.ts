/** Starts `bench/http-load.ts` in a child process and sends it batches of requests. */
import { fork } from 'node:child_process';
import path from 'node:path';
import type { LoadBatch, LoadResult } from './http-load';

export interface LoadClient {
  run(batch: LoadBatch): Promise<LoadResult>;
  stop(): void;
}

export function startLoadClient(): LoadClient {
  const child = fork(path.join(import.meta.dirname, 'http-load.ts'), {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    run(batch) {
      // One batch at a time: each answer is the one to the batch sent last.
      const result = queue.then(
        () =>
          new Promise<LoadResult>((resolve, reject) => {
            const exited = (code: number | null) =>
              reject(new Error(`load client exited (${code})`));
            child.once('exit', exited);
            child.once('message', (message) => {
              child.off('exit', exited);
              resolve(message as LoadResult);
            });
            child.send(batch);
          }),
      );
      queue = result.catch(() => undefined);
      return result;
    },
    stop() {
      child.kill();
    },
  };
}
