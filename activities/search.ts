import { setTimeout as sleep } from 'node:timers/promises';
import { outboxPendingUpTo } from '../db/queries/search-outbox';
import type { ActivityDeps } from './index';

/** How often a job waiting for the index looks again when no drain is announced (a lost notification). */
const DRAIN_RECHECK_MS = 200;

/**
 * What a job needs of the search index: to know when it has caught up with
 * what the job committed. The worker's sync loop (search/sync.ts) applies the
 * outbox; no workflow writes to Meilisearch itself.
 */
export function searchActivities({ db, config, searchSync }: ActivityDeps) {
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
  };
}
