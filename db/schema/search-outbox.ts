import { sql } from 'drizzle-orm';
import { bigserial, index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, timestamptz } from './columns';

/**
 * Transactional outbox for the search index: a write that changes indexed data
 * adds a row here in its own transaction; the worker drains the rows into
 * Meilisearch. Processed rows are kept for a day so a rebuild can replay what
 * changed while it ran. IDs only.
 */
export const searchOutbox = pgTable(
  'search_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    entity: text('entity', { enum: ['customer', 'conversation', 'kobject'] }).notNull(),
    entityId: uuid('entity_id').notNull(),
    createdAt: createdAt(),
    processedAt: timestamptz('processed_at'),
  },
  (t) => [
    index('search_outbox_pending_idx')
      .on(t.id)
      .where(sql`${t.processedAt} is null`),
    index('search_outbox_created_idx').on(t.createdAt),
  ],
);
