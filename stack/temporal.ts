import path from 'node:path';
import { searchAttributes } from '../workflows/contracts';
import { temporalCli } from './binaries';
import { isPortOpen, spawnService, waitUntil } from './process';
import type { StartedService } from './types';

const typeNames: Record<string, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

export interface StartedTemporal extends StartedService {
  uiUrl: string | undefined;
}

/**
 * Every workflow task, activity and search-attribute upsert is a SQLite commit;
 * by default each one waits for an fsync. In WAL mode with synchronous=NORMAL a
 * commit survives a killed server (only a machine crash may lose the last ones,
 * and this is a throw-away dev server): a do-nothing workflow of a confirmed
 * job's shape went from 438 to 177 ms, and 30 at once from 1.5 to 6.4 per
 * second (bench/temporal-sqlite.ts).
 */
export const FAST_SQLITE = ['journal_mode=wal', 'synchronous=normal'] as const;

/**
 * Temporal's development server (SQLite, with its UI unless headless). The
 * binary is spawned directly, never through a shell, so stopping the child
 * stops the server.
 */
export async function startTemporal({
  dataDir,
  port,
  uiPort,
  headless,
  logFile,
  sqlitePragmas = FAST_SQLITE,
}: {
  dataDir: string;
  port: number;
  uiPort: number;
  headless: boolean;
  logFile: string;
  /** `--sqlite-pragma` values; `[]` keeps SQLite's defaults (bench/temporal-sqlite.ts compares them). */
  sqlitePragmas?: readonly string[];
}): Promise<StartedTemporal> {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--db-filename',
    path.join(dataDir, 'temporal.sqlite'),
    '--log-level',
    'warn',
    ...sqlitePragmas.flatMap((pragma) => ['--sqlite-pragma', pragma]),
    // A workflow task that schedules an activity gets the activity back in its
    // reply, when the worker has a free slot: no trip through task matching.
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    ...Object.values(searchAttributes).flatMap((key) => [
      '--search-attribute',
      `${key.name}=${typeNames[key.type]}`,
    ]),
    ...(headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
  ];
  const server = spawnService('temporal', temporalCli(), args, { logFile });
  try {
    await waitUntil('Temporal', () => isPortOpen(port), {
      process: server,
      logFile,
      timeoutMs: 120_000,
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    url: `127.0.0.1:${port}`,
    uiUrl: headless ? undefined : `http://127.0.0.1:${uiPort}`,
    stop: () => server.stop(),
  };
}
