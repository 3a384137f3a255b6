import path from 'node:path';
import { meilisearchBinary } from './binaries';
import { spawnService, waitUntil } from './process';
import type { StartedService } from './types';

export interface StartedMeilisearch extends StartedService {
  masterKey: string;
}

export async function startMeilisearch({
  dataDir,
  port,
  masterKey,
  logFile,
}: {
  dataDir: string;
  port: number;
  masterKey: string;
  logFile: string;
}): Promise<StartedMeilisearch> {
  const url = `http://127.0.0.1:${port}`;
  const server = spawnService(
    'meilisearch',
    meilisearchBinary(),
    [
      '--db-path',
      path.join(dataDir, 'meilisearch'),
      '--dump-dir',
      path.join(dataDir, 'meilisearch-dumps'),
      '--http-addr',
      `127.0.0.1:${port}`,
      '--master-key',
      masterKey,
      '--env',
      'development',
      '--no-analytics',
      '--log-level',
      'WARN',
    ],
    { logFile },
  );
  try {
    await waitUntil('Meilisearch', async () => (await fetch(`${url}/health`)).ok, {
      process: server,
      logFile,
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url, masterKey, stop: () => server.stop() };
}
