import { setTimeout as sleep } from 'node:timers/promises';
import { outboxPendingUpTo } from '../db/queries/search-outbox';
import { indexOfEntity, indexUid, type SearchEntity } from '../search/indexes';
import { waitForSearchTask, waitForSearchTasks } from '../search/client';
import { projectEntities } from '../search/documents';
import type { ActivityDeps } from './index';

/** How often a job waiting for the index looks again when no drain is announced (a lost notification). */
const DRAIN_RECHECK_MS = 200;

/**
 * Keeps the search index right after a workflow changed Postgres. Each waits
 * until Meilisearch has applied the change and is safe to retry.
 */
export function searchActivities({ db, search, config, searchSync }: ActivityDeps) {
  const prefix = config.meili.indexPrefix;
  const index = (entity: SearchEntity) => search.index(indexUid(prefix, indexOfEntity[entity]));

  return {
    /**
     * Waits until the search outbox has drained up to `outboxUpTo` (what a job
     * committed), for at most the configured settle time; `pending` when not yet.
     */
    async awaitSearchIndex(outboxUpTo: number) {
      const deadline = Date.now() + config.searchSettleMs;
      for (;;) {
        // Listening before looking: a drain that ends in between still wakes this.
        const drained = searchSync ? searchSync.nextDrain(DRAIN_RECHECK_MS) : sleep(25);
        if (!(await outboxPendingUpTo(db, outboxUpTo))) return { pending: false };
        if (Date.now() > deadline) return { pending: true };
        await drained;
      }
    },

    /** Re-projects these entities from Postgres: upserts those that exist, removes those that do not. */
    async upsertSearchDocuments(entity: SearchEntity, ids: string[]) {
      return projectEntities(db, search, prefix, entity, ids);
    },

    /** Removes these documents whatever Postgres says. */
    async removeSearchDocuments(entity: SearchEntity, ids: string[]) {
      if (ids.length > 0) await waitForSearchTask(search, index(entity).deleteDocuments(ids));
      return { removed: ids.length };
    },

    /** Removes a customer and every conversation and KObject filed under it. */
    async removeCustomerFromSearch(customerId: string) {
      const byCustomer = { filter: `customerId = "${customerId}"` };
      await waitForSearchTasks(search, [
        index('customer').deleteDocument(customerId),
        index('conversation').deleteDocuments(byCustomer),
        index('kobject').deleteDocuments(byCustomer),
      ]);
    },
  };
}
