import type { Database } from '../db/client';
import type { Config } from '../lib/config';
import { refusalsAsFailures } from './failures';
import { timelineActivities } from './timeline';

export interface ActivityDeps {
  db: Database;
  config: Config;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return refusalsAsFailures({
    ...timelineActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
