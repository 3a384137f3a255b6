/**
 * A load generator in a process of its own (not a benchmark): the parent
 * `fork`s it and sends batches of requests; it sends them with `concurrency`
 * keep-alive connections and answers with the batch's time and latencies.
 * Out of the API's process, the client's own work (building requests, reading
 * answers) does not share the server's event loop — as with real clients.
 */
import http from 'node:http';

export interface LoadBatch {
  port: number;
  headers: Record<string, string>;
  method: 'GET' | 'POST';
  requests: { path: string; body?: string }[];
  concurrency: number;
  /** The status every answer must have; any other is counted as an error. */
  expect: number;
}

export interface LoadResult {
  seconds: number;
  latencies: number[];
  errors: string[];
}

function send(agent: http.Agent, batch: LoadBatch, path: string, body?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: batch.port,
        method: batch.method,
        path,
        agent,
        headers: {
          ...batch.headers,
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (response.statusCode === batch.expect) resolve();
          else
            reject(new Error(`${response.statusCode} ${Buffer.concat(chunks).toString('utf8')}`));
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function run(batch: LoadBatch): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: batch.concurrency });
  const latencies: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: batch.concurrency }, async () => {
      while (next < batch.requests.length) {
        const { path, body } = batch.requests[next++]!;
        const t0 = performance.now();
        try {
          await send(agent, batch, path, body);
        } catch (error) {
          errors.push(error instanceof Error ? error.message : String(error));
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { seconds, latencies, errors };
}

process.on('message', (batch: LoadBatch) => {
  void run(batch).then((result) => process.send!(result));
});
