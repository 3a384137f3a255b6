import { jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns';

/**
 * The TypeScript data migrations (db/data-migrations/) that have run, each
 * once: db/migrate.ts runs a migration and records it here in one transaction.
 */
export const dataMigrations = pgTable('data_migrations', {
  name: text('name').primaryKey(),
  appliedAt: timestamptz('applied_at').notNull().defaultNow(),
  /** What the migration reported: IDs and counts only, never personal data. */
  report: jsonb('report').$type<Record<string, unknown>>().notNull().default({}),
});
