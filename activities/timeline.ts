import { count, eq } from 'drizzle-orm';
import { getCustomer } from '../db/queries/customers';
import { conversations, kobjects } from '../db/schema';
import type { TimelineCounts } from '../workflows/contracts';
import type { ActivityDeps } from './index';

export function timelineActivities({ db }: ActivityDeps) {
  return {
    /** Counts a customer's conversations and KObjects; refuses CUSTOMER_NOT_FOUND. */
    async countTimelineItems(customerId: string): Promise<TimelineCounts> {
      await getCustomer(db, customerId);
      const [[c], [k]] = await Promise.all([
        db
          .select({ n: count() })
          .from(conversations)
          .where(eq(conversations.customerId, customerId)),
        db.select({ n: count() }).from(kobjects).where(eq(kobjects.customerId, customerId)),
      ]);
      const counts = { conversations: c?.n ?? 0, kobjects: k?.n ?? 0 };
      return { ...counts, total: counts.conversations + counts.kobjects };
    },
  };
}
