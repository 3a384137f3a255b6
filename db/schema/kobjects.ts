import { desc, sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import type { FieldDefinition } from '../../domain/attributes';
import { createdAt, id, timestamptz } from './columns';
import { customers } from './customers';
import { users } from './users';

/** A custom object type, such as `order`. */
export const klasses = pgTable('klasses', {
  id: id(),
  name: text('name').notNull().unique(),
  title: text('title').notNull(),
  /** Typed fields of its KObjects' `data`, checked on write; null: any data (klasses from before). */
  fields: jsonb('fields').$type<FieldDefinition[]>(),
  createdAt: createdAt(),
});

export const kobjects = pgTable(
  'kobjects',
  {
    id: id(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    klassId: uuid('klass_id')
      .notNull()
      .references(() => klasses.id, { onDelete: 'restrict' }),
    title: text('title').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    lastActivityAt: timestamptz('last_activity_at').notNull().defaultNow(),
    pinnedAt: timestamptz('pinned_at'),
    pinnedBy: uuid('pinned_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    index('kobjects_customer_activity_idx').on(t.customerId, desc(t.lastActivityAt), desc(t.id)),
    index('kobjects_klass_idx').on(t.klassId),
    // The timeline's sort key, as on conversations.
    index('kobjects_customer_timeline_idx').on(
      t.customerId,
      desc(sql`(${t.pinnedAt} is not null)`),
      desc(sql`coalesce(${t.pinnedAt}, ${t.lastActivityAt})`),
      desc(t.id),
    ),
  ],
);
