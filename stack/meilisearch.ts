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
      '--env',
      'development',
      '--no-analytics',
      // The default (2/3 of RAM) costs ~1.8 s per indexing batch on a 24 GiB
      // machine, even for one document; a bounded budget takes ~15 ms.
      '--max-indexing-memory',
      process.env.MEILI_MAX_INDEXING_MEMORY || '512MiB',
      '--log-level',
      'WARN',
    ],
    // The key goes in the environment, not the arguments: a key that starts
    // with "-" (one random base64url key in 64) was read as an unknown flag and
    // Meilisearch exited with code 2, and arguments are visible to `ps`.
    { logFile, env: { ...process.env, MEILI_MASTER_KEY: masterKey } },
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
