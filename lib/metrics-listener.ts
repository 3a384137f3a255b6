import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from './metrics';

/** How long the listener waits for the Temporal SDK's own endpoint before answering without it. */
const SDK_SCRAPE_TIMEOUT_MS = 2_000;

export interface MetricsListener {
  /** The port it listens on (the one asked for, or the one the OS chose for 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * The worker's `GET /metrics`: this process's registry (lib/metrics.ts), then
 * what the Temporal SDK serves at `sdkUrl` (task slots, poll and
 * schedule-to-start latencies, activity failures — all `temporal_`), so one
 * scrape target per worker holds both. Without the SDK's part (its endpoint
 * did not answer) the answer says so in a comment and
 * `custodian_worker_sdk_metrics_up` is 0.
 */
export async function startMetricsListener({
  host,
  port,
  sdkUrl,
}: {
  host: string;
  port: number;
  sdkUrl: string | undefined;
}): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?', 1)[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is here.\n');
      return;
    }
    void exposition(sdkUrl).then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function exposition(sdkUrl: string | undefined): Promise<string> {
  const own = await registry.metrics();
  if (!sdkUrl) return own;
  const sdk = await fetch(sdkUrl, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) })
    .then((response) => (response.ok ? response.text() : undefined))
    .catch(() => undefined);
  const up = [
    '# HELP custodian_worker_sdk_metrics_up Whether the Temporal SDK metrics endpoint answered this scrape',
    '# TYPE custodian_worker_sdk_metrics_up gauge',
    `custodian_worker_sdk_metrics_up ${sdk === undefined ? 0 : 1}`,
    '',
  ].join('\n');
  const tail = sdk ?? `# The Temporal SDK's metrics (${sdkUrl}) did not answer.\n`;
  return `${own.endsWith('\n') ? own : `${own}\n`}${up}${tail}`;
}
