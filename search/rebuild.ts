/**
 * Rebuilds every index from Postgres into fresh indexes and swaps them in, so
 * search keeps answering from the old ones until the new ones are complete.
 */
import { sql } from 'drizzle-orm';
import type { Meilisearch } from 'meilisearch';
import type { Database } from '../db/client';
import { waitForSearchTask, waitForSearchTasks } from './client';
import { loadDocumentPage, projectEntities } from './documents';
import { ensureIndex, indexOfEntity, indexUid, searchEntities, type SearchEntity } from './indexes';

export interface RebuildReport {
  documents: Record<SearchEntity, number>;
  replayed: number;
  seconds: number;
}

export async function rebuildSearchIndexes(
  db: Database,
  meili: Meilisearch,
  prefix: string,
  {
    batchSize = 5000,
    log = (_line: string): void => undefined,
  }: { batchSize?: number; log?: (line: string) => void } = {},
): Promise<RebuildReport> {
  const started = performance.now();
  const [{ now: startedAt } = { now: '' }] = (
    await db.execute<{ now: string }>(sql`select now()::text as now`)
  ).rows;
  const documents = { customer: 0, conversation: 0, kobject: 0 };

  for (const entity of searchEntities) {
    const name = indexOfEntity[entity];
    const live = indexUid(prefix, name);
    const fresh = `${live}__rebuild_${Date.now()}`;
    await ensureIndex(meili, fresh, name);
    // One snapshot per index: every document reflects the same moment.
    await db.transaction(
      async (tx) => {
        const pending = [];
        for (let after: string | null = null; ;) {
          const page = await loadDocumentPage(tx, entity, after, batchSize);
          if (page.length === 0) break;
          pending.push(meili.index(fresh).addDocuments(page, { primaryKey: 'id' }));
          documents[entity] += page.length;
          after = page.at(-1)!.id;
        }
        await waitForSearchTasks(meili, pending);
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    await ensureIndex(meili, live, name);
    await waitForSearchTask(meili, meili.swapIndexes([{ indexes: [live, fresh], rename: false }]));
    await waitForSearchTask(meili, meili.deleteIndex(fresh));
    log(`${name}: ${documents[entity]} documents`);
  }

  // Changes committed while the rebuild ran may have reached only the old index.
  const changed = await db.execute<{ entity: SearchEntity; entity_id: string }>(sql`
    select distinct entity, entity_id from search_outbox where created_at >= ${startedAt}::timestamptz`);
  for (const entity of searchEntities) {
    const ids = changed.rows.filter((row) => row.entity === entity).map((row) => row.entity_id);
    for (let i = 0; i < ids.length; i += batchSize) {
      await projectEntities(db, meili, prefix, entity, ids.slice(i, i + batchSize));
    }
  }
  return {
    documents,
    replayed: changed.rows.length,
    seconds: (performance.now() - started) / 1000,
  };
}
