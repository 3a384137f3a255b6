import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { upsertSearchDocuments } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute' });

const BATCH = 500;

/**
 * Brings the search index in line with Postgres for everything a job touched.
 * Upserting re-projects from Postgres, so a customer that no longer exists
 * (merged away) is removed by the same call.
 */
export async function reindexTouched(touched: {
  customerIds: string[];
  conversationIds: string[];
  kobjectIds: string[];
}): Promise<void> {
  await upsertSearchDocuments('customer', touched.customerIds);
  for (let i = 0; i < touched.conversationIds.length; i += BATCH) {
    await upsertSearchDocuments('conversation', touched.conversationIds.slice(i, i + BATCH));
  }
  for (let i = 0; i < touched.kobjectIds.length; i += BATCH) {
    await upsertSearchDocuments('kobject', touched.kobjectIds.slice(i, i + BATCH));
  }
}
