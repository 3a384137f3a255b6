import type { Client } from '@temporalio/client';
import type { Meilisearch } from 'meilisearch';
import type { Database } from '../db/client';
import type { Config } from '../lib/config';
import type { Mailer } from '../notifications/mailer';
import type { SearchSync } from '../search/sync';
import { attributeActivities } from './attributes';
import { refusalsAsFailures } from './failures';
import { gdprActivities } from './gdpr';
import { deletionActivities } from './deletion';
import { exportActivities } from './exports';
import { jobActivities } from './job-lifecycle';
import { notificationActivities } from './notifications';
import { searchActivities } from './search';
import { timelineActivities } from './timeline';

export interface ActivityDeps {
  db: Database;
  search: Meilisearch;
  mailer: Mailer;
  config: Config;
  /** Asks Temporal about job workflows and signals GDPR request workflows. */
  temporal: Client;
  /** The worker's search sync loop: tells a job waiting for the index when rows were drained. */
  searchSync?: Pick<SearchSync, 'nextDrain'>;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return refusalsAsFailures({
    ...timelineActivities(deps),
    ...searchActivities(deps),
    ...jobActivities(deps),
    ...notificationActivities(deps),
    ...gdprActivities(deps),
    ...deletionActivities(deps),
    ...attributeActivities(deps),
    ...exportActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
