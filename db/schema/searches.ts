import { index, jsonb, pgEnum, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './columns';
import { users } from './users';

export const searchIndexName = pgEnum('search_index', ['customers', 'conversations', 'kobjects']);

/** A stored query and filters, so a later job can resolve "every object matching this search". */
export const savedSearches = pgTable(
  'saved_searches',
  {
    id: id(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    index: searchIndexName('index').notNull(),
    query: text('query').notNull().default(''),
    filters: jsonb('filters').$type<Record<string, string | string[]>>().notNull().default({}),
    sort: text('sort'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('saved_searches_owner_idx').on(t.ownerId)],
);
