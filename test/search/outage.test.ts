import { sql } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../db/migrate';
import { freePort } from '../../stack';
import { startMeilisearch, type StartedMeilisearch } from '../../stack/meilisearch';
import { eventually, startTestApp, testConfig, uniqueWord, type TestApp } from '../helpers';
import { startBulkErasure } from '../job-helpers';
import { uuidArray } from '../../db/sql';

/**
 * This file stops Meilisearch, so it runs on a Meilisearch and a database of
 * its own: the rest of the suite keeps the shared ones.
 */
let t: TestApp;
let meili: StartedMeilisearch;
let meiliPort: number;
let dataDir: string;
const masterKey = randomBytes(24).toString('base64url');

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'custodian-outage-'));
  meiliPort = await freePort();
  meili = await startMeilisearch({
    dataDir,
    port: meiliPort,
    masterKey,
    logFile: path.join(dataDir, 'meili.log'),
  });

  const shared = testConfig();
  const database = `outage_${uniqueWord('')}`;
  const admin = new pg.Client({ connectionString: shared.databaseUrl });
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();
  const databaseUrl = shared.databaseUrl.replace(/\/custodian$/, `/${database}`);
  await runMigrations(databaseUrl);

  t = await startTestApp({
    worker: true,
    config: testConfig({
      DATABASE_URL: databaseUrl,
      MEILI_URL: meili.url,
      MEILI_MASTER_KEY: masterKey,
      BULK_SELECTION_LIMIT: '1000',
      BULK_BATCH_SIZE: '5',
      SEARCH_SETTLE_TIMEOUT: '2s',
    }),
  });
});

afterAll(async () => {
  await t.close();
  await meili.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function searchNames(word: string): Promise<string[]> {
  const response = await t.call('GET', `/v1/search/customers?q=${word}&limit=100`);
  if (response.statusCode !== 200) return [];
  return response
    .json<{ hits: { name: string }[] }>()
    .hits.map((h) => h.name)
    .sort();
}

/** How many of these customers' outbox rows wait to be applied to the index. */
async function unprocessed(customerIds: string[]): Promise<number> {
  const ids = sql.join(
    customerIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const result = await t.db.execute<{ n: number }>(sql`
    select count(*)::int as n from search_outbox
    where processed_at is null and entity = 'customer' and entity_id in (${ids})`);
  return result.rows[0]!.n;
}

describe('search while Meilisearch is down', () => {
  it('keeps accepting writes and catches up within 10 s of Meilisearch coming back, losing and duplicating nothing', async () => {
    const word = uniqueWord('outage');
    const first = await t.call('POST', '/v1/customers', { body: { name: `Before ${word}` } });
    expect(first.statusCode).toBe(201);
    await eventually(
      async () => ((await searchNames(word)).length === 1 ? true : undefined),
      10_000,
      `the first customer searchable by "${word}"`,
    );
    // Search shows a document a moment before its outbox row is marked processed.
    const firstId = first.json<{ id: string }>().id;
    await eventually(
      async () => ((await unprocessed([firstId])) === 0 ? true : undefined),
      10_000,
      "the first customer's outbox row marked processed",
    );

    await meili.stop();
    const down = await t.call('GET', `/v1/search/customers?q=${word}`);
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ code: 'SEARCH_UNAVAILABLE' });
    // Only search is down: the API stays ready, and says what is degraded.
    const ready = await t.call('GET', '/health/ready', { key: null });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'degraded',
      postgres: 'ok',
      temporal: 'ok',
      search: 'unavailable',
    });

    const ids: string[] = [firstId];
    for (let i = 0; i < 5; i++) {
      const response = await t.call('POST', '/v1/customers', {
        body: { name: `During ${i} ${word}` },
      });
      expect(response.statusCode).toBe(201);
      ids.push(response.json<{ id: string }>().id);
    }
    const renamed = ids.slice(1, 3);
    for (const id of renamed) {
      const response = await t.call('PATCH', `/v1/customers/${id}`, {
        body: { name: `Renamed ${id.slice(0, 4)} ${word}` },
      });
      expect(response.statusCode).toBe(200);
    }
    expect(await unprocessed(ids)).toBe(7);

    meili = await startMeilisearch({
      dataDir,
      port: meiliPort,
      masterKey,
      logFile: path.join(dataDir, 'meili.log'),
    });
    const restartedAt = Date.now();
    const expected = [
      `Before ${word}`,
      ...[2, 3, 4].map((i) => `During ${i} ${word}`),
      ...renamed.map((id) => `Renamed ${id.slice(0, 4)} ${word}`),
    ].sort();
    await eventually(
      async () => {
        const names = await searchNames(word);
        return JSON.stringify(names) === JSON.stringify(expected) ? names : undefined;
      },
      10_000,
      `search for "${word}" to answer ${JSON.stringify(expected)}`,
    );
    console.log(`index caught up ${Date.now() - restartedAt} ms after Meilisearch came back`);

    // The drainer marks its rows processed only after Meilisearch has applied
    // them, so they turn processed a moment after search already shows them.
    await eventually(
      async () => ((await unprocessed(ids)) === 0 ? true : undefined),
      10_000,
      "this test's outbox rows marked processed",
    );
    // This Meilisearch is the file's own: every document in it is this test's.
    const stats = await t.app.meili.index('customers').getStats();
    expect(stats.numberOfDocuments).toBe(6);
  });
});

describe('a bulk erasure while Meilisearch is down', () => {
  it('deletes every row, reports the index update as pending, and the index follows once it is back', async () => {
    const word = uniqueWord('gone');
    const ids: string[] = [];
    for (let i = 0; i < 40; i++)
      ids.push((await t.create('/v1/customers', { name: `Erased ${i} ${word}` })).id);
    await eventually(
      async () => ((await searchNames(word)).length === 40 ? true : undefined),
      15_000,
      'the 40 customers in the index',
    );

    await meili.stop();
    const jobId = (await startBulkErasure(t, { entity: 'customers', ids })).job.id;
    const job = await eventually(
      async () => {
        const body = (await t.call('GET', `/v1/jobs/${jobId}`)).json<{
          status: string;
          progress: { done: number };
          result: { indexPending: boolean } | null;
        }>();
        return body.status === 'completed' ? body : undefined;
      },
      60_000,
      'the erasure to complete while Meilisearch is down',
    );
    expect(job.progress.done).toBe(40);
    expect(job.result?.indexPending).toBe(true);
    const left = await t.db.execute<{ n: number }>(
      sql`select count(*)::int as n from customers where id = any(${uuidArray(ids)})`,
    );
    expect(left.rows[0]!.n).toBe(0);

    meili = await startMeilisearch({
      dataDir,
      port: meiliPort,
      masterKey,
      logFile: path.join(dataDir, 'meili.log'),
    });
    await eventually(
      async () => ((await unprocessed(ids)) === 0 ? true : undefined),
      20_000,
      "the erasure's outbox rows applied after Meilisearch came back",
    );
    expect(await searchNames(word)).toEqual([]);
  }, 120_000);
});
