import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CountTimelineInput, CountTimelineResult } from './contracts';
import { refusalOf } from './refusals';
import { retries } from './retry-policies';

const { countTimelineItems } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: retries.diagnostic,
});

/** Counts a customer's timeline items: the smallest round trip API → Temporal → worker → Postgres. */
export async function countTimelineWorkflow({
  customerId,
}: CountTimelineInput): Promise<CountTimelineResult> {
  try {
    return { status: 'completed', counts: await countTimelineItems(customerId) };
  } catch (error) {
    if (refusalOf(error)?.code === 'CUSTOMER_NOT_FOUND') {
      return { status: 'rejected', code: 'CUSTOMER_NOT_FOUND' };
    }
    throw error;
  }
}
