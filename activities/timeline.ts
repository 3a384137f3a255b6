import { getCustomer } from '../db/queries/customers';
import { countTimelineItems } from '../db/queries/timeline';
import type { TimelineCounts } from '../workflows/contracts';
import type { ActivityDeps } from './index';

export function timelineActivities({ db }: ActivityDeps) {
  return {
    /** Counts a customer's conversations and KObjects; refuses CUSTOMER_NOT_FOUND. */
    async countTimelineItems(customerId: string): Promise<TimelineCounts> {
      await getCustomer(db, customerId);
      return countTimelineItems(db, customerId);
    },
  };
}
