import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CountTimelineInput, CountTimelineResult } from './contracts';

const { countTimelineItems } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/** Counts a customer's timeline items: the smallest round trip API → Temporal → worker → Postgres. */
export async function countTimelineWorkflow({
  customerId,
}: CountTimelineInput): Promise<CountTimelineResult> {
  try {
    return { status: 'completed', counts: await countTimelineItems(customerId) };
  } catch (error) {
    if (
      error instanceof ActivityFailure &&
      error.cause instanceof ApplicationFailure &&
      error.cause.type === 'CUSTOMER_NOT_FOUND'
    ) {
      return { status: 'rejected', code: 'CUSTOMER_NOT_FOUND' };
    }
    throw error;
  }
}
