import { indexOfEntity, indexUid, type SearchEntity } from '../search/indexes';
import { waitForSearchTask } from '../search/client';
import { projectEntities } from '../search/documents';
import type { ActivityDeps } from './index';

/**
 * Keeps the search index right after a workflow changed Postgres. Each waits
 * until Meilisearch has applied the change and is safe to retry.
 */
export function searchActivities({ db, search, config }: ActivityDeps) {
  const prefix = config.meili.indexPrefix;
  const index = (entity: SearchEntity) => search.index(indexUid(prefix, indexOfEntity[entity]));

  return {
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
      await waitForSearchTask(search, index('customer').deleteDocument(customerId));
      await waitForSearchTask(search, index('conversation').deleteDocuments(byCustomer));
      await waitForSearchTask(search, index('kobject').deleteDocuments(byCustomer));
    },
  };
}
