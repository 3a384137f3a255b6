/**
 * `npm run reindex`: rebuilds every search index from Postgres and swaps it in.
 * Uses DATABASE_URL and MEILI_URL, or the `npm run dev` defaults when unset.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../db/client';
import { createSearchClient } from '../search/client';
import { ensureIndexes } from '../search/indexes';
import { rebuildSearchIndexes } from '../search/rebuild';
import { projectRoot } from '../stack';

const env = process.env;
const dataDir = path.resolve(env.DATA_DIR || path.join(projectRoot, '.data'));
const devKeyFile = path.join(dataDir, 'meili-master-key');

const databaseUrl =
  env.DATABASE_URL ||
  `postgres://postgres:custodian@127.0.0.1:${env.POSTGRES_PORT || 54329}/custodian`;
const meiliUrl = env.MEILI_URL || `http://127.0.0.1:${env.MEILI_PORT || 7700}`;
const apiKey =
  env.MEILI_MASTER_KEY ||
  (existsSync(devKeyFile) ? readFileSync(devKeyFile, 'utf8').trim() : undefined);
const prefix = env.MEILI_INDEX_PREFIX ?? '';

async function main() {
  const database = createDatabase(databaseUrl, { max: 2 });
  const meili = createSearchClient({ url: meiliUrl, apiKey });
  try {
    await ensureIndexes(meili, prefix);
    const report = await rebuildSearchIndexes(database.db, meili, prefix, {
      log: (line) => console.log(line),
    });
    const total = Object.values(report.documents).reduce((a, b) => a + b, 0);
    console.log(
      `rebuilt ${total} documents in ${report.seconds.toFixed(1)} s; replayed ${report.replayed} changes made meanwhile`,
    );
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error('reindex failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
