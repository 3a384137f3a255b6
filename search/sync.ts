/**
 * The worker's search sync loop: drains the transactional outbox into
 * Meilisearch. Rows are marked processed only after Meilisearch has applied
 * the change, so an outage loses nothing: the rows wait, the loop retries, and
 * the index catches up once Meilisearch answers again.
 */
import { sql } from 'drizzle-orm';
import type { Meilisearch } from 'meilisearch';
import pg from 'pg';
import type { Database } from '../db/client';
import { SEARCH_DRAINED_CHANNEL, SEARCH_OUTBOX_CHANNEL } from '../db/queries/search-outbox';
import { waitForSearchTasks } from './client';
import { emptyProjection, planProjection, submitProjection } from './documents';
import { ensureIndexes, searchEntities, type SearchEntity } from './indexes';

/** One Postgres advisory lock key: a single drainer at a time keeps index writes in commit order. */
const DRAINER_LOCK = 7_240_531_001;
const RETENTION = '1 day';

export interface DrainResult {
  rows: number;
  upserted: number;
  removed: number;
}

/**
 * Rows drained at once. The largest merge (1,000 items, two customers) fits in
 * one round, so the job waiting for it is not left waiting for a second; a
 * backlog (a bulk erasure) goes in large rounds, because Meilisearch pays
 * much of its cost per round: dropping 20,000 erased customers with
 * everything filed under them took ~11 s in rounds of 2,000 and ~6 s in
 * rounds of up to 10,000 (bench:erase).
 */
export const DRAIN_BATCH = 10_000;

/** Drains up to `batchSize` pending outbox rows; returns how many it handled. */
export async function drainSearchOutbox(
  db: Database,
  meili: Meilisearch,
  prefix: string,
  batchSize = DRAIN_BATCH,
): Promise<DrainResult> {
  return db.transaction(async (tx) => {
    const pending = await tx.execute<{ id: number; entity: SearchEntity; entity_id: string }>(sql`
      select id, entity, entity_id from search_outbox
      where processed_at is null order by id limit ${batchSize}
      for update skip locked`);
    const result: DrainResult = { rows: pending.rows.length, upserted: 0, removed: 0 };
    if (result.rows === 0) return result;
    // Every entity's tasks are submitted before any is awaited: Meilisearch batches
    // and applies them while this waits once, instead of one wait per entity.
    const projection = emptyProjection();
    for (const entity of searchEntities) {
      const ids = pending.rows.filter((row) => row.entity === entity).map((row) => row.entity_id);
      await planProjection(tx, projection, entity, ids);
    }
    for (const entity of searchEntities) {
      result.upserted += projection.upserts[entity].length;
      result.removed += projection.removals[entity].length;
    }
    await waitForSearchTasks(meili, submitProjection(meili, prefix, projection));
    const handled = `{${pending.rows.map((row) => row.id).join(',')}}`;
    await tx.execute(sql`
      with handled as (
        update search_outbox set processed_at = now() where id = any(${handled}::bigint[])
      )
      select pg_notify(${SEARCH_DRAINED_CHANNEL}, '')`);
    return result;
  });
}

export interface SearchSync {
  /**
   * Resolves when a sync loop (this worker's or another's) next marks outbox
   * rows processed, or after `timeoutMs`: what a job waiting for the index
   * sleeps on between looks at the outbox.
   */
  nextDrain(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface SearchSyncOptions {
  db: Database;
  databaseUrl: string;
  meili: Meilisearch;
  prefix: string;
  log?: (message: string, error?: unknown) => void;
  /** How often to look at the outbox when nothing wakes the loop. */
  idleMs?: number;
}

/** Starts the sync loop; it runs until `stop()`. */
export function startSearchSync({
  db,
  databaseUrl,
  meili,
  prefix,
  log = () => undefined,
  idleMs = 1000,
}: SearchSyncOptions): SearchSync {
  let running = true;
  // A notification that arrives while the loop is draining must not be lost.
  let notified = false;
  let wake: (() => void) | undefined;
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (notified || !running) {
        notified = false;
        return resolve();
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        notified = false;
        resolve();
      }
      wake = done;
    });
  const notify = () => {
    notified = true;
    wake?.();
  };

  const drainWaiters = new Set<() => void>();
  const drained = () => {
    for (const wake of drainWaiters) wake();
  };
  const nextDrain = (timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        drainWaiters.delete(done);
        resolve();
      }
      drainWaiters.add(done);
    });

  let listener: pg.Client | undefined;
  const connectListener = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('error', () => {
      if (listener === client) listener = undefined;
    });
    client.on('notification', ({ channel }) =>
      channel === SEARCH_DRAINED_CHANNEL ? drained() : notify(),
    );
    await client.connect();
    await client.query(`listen ${SEARCH_OUTBOX_CHANNEL}; listen ${SEARCH_DRAINED_CHANNEL}`);
    return client;
  };

  const loop = async () => {
    let indexesReady = false;
    let failures = 0;
    let lastCleanup = 0;
    let lockedBy: pg.Client | undefined;
    while (running) {
      try {
        if (!listener) {
          listener = await connectListener();
        }
        // The lock belongs to the listener's session and ends with it.
        if (lockedBy !== listener) {
          const { rows } = await listener.query<{ locked: boolean }>(
            'select pg_try_advisory_lock($1) as locked',
            [DRAINER_LOCK],
          );
          if (!rows[0]?.locked) {
            await nap(idleMs);
            continue;
          }
          lockedBy = listener;
        }
        if (!indexesReady) {
          await ensureIndexes(meili, prefix);
          indexesReady = true;
        }
        const drained = await drainSearchOutbox(db, meili, prefix);
        if (failures > 0) log(`search index reachable again; sync resumed`);
        failures = 0;
        if (Date.now() - lastCleanup > 60_000) {
          await db.execute(
            sql`delete from search_outbox where processed_at < now() - ${RETENTION}::interval`,
          );
          lastCleanup = Date.now();
        }
        if (drained.rows === 0) await nap(idleMs);
      } catch (error) {
        // Meilisearch may come back empty after an outage: re-apply settings first.
        indexesReady = false;
        failures += 1;
        if (failures === 1 || failures % 30 === 0)
          log(`search sync failed (attempt ${failures}); retrying`, error);
        await nap(Math.min(250 * 2 ** Math.min(failures, 3), 2000));
      }
    }
  };

  const done = loop();
  return {
    nextDrain,
    async stop() {
      running = false;
      notify();
      drained();
      await done;
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}
