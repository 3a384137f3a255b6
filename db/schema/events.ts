import { desc, sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz } from './columns';
import { customers } from './customers';

/**
 * Engagement events (page views, email opens, calls…): high volume, append
 * only, personal data. They go with their customer: the cascade removes them
 * when the customer is deleted, and a merge moves them to the survivor first.
 */
export const engagementEvents = pgTable(
  'engagement_events',
  {
    id: id(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    occurredAt: timestamptz('occurred_at').notNull(),
    properties: jsonb('properties').$type<Record<string, unknown>>().notNull().default({}),
    externalId: text('external_id'),
    createdAt: createdAt(),
  },
  (t) => [
    // An external ID is the sender's idempotency key for one customer's event.
    // Scoped per customer (not global), so a merge can move every event: the
    // few whose key the target already holds lose the key, not the event.
    uniqueIndex('engagement_events_customer_external_id_idx')
      .on(t.customerId, t.externalId)
      .where(sql`${t.externalId} is not null`),
    index('engagement_events_customer_occurred_idx').on(
      t.customerId,
      desc(t.occurredAt),
      desc(t.id),
    ),
    index('engagement_events_customer_type_occurred_idx').on(
      t.customerId,
      t.type,
      desc(t.occurredAt),
      desc(t.id),
    ),
  ],
);
