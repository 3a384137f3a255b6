import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './columns';

export const companies = pgTable(
  'companies',
  {
    id: id(),
    name: text('name').notNull(),
    customAttributes: jsonb('custom_attributes')
      .$type<Record<string, unknown>>()
      .notNull()
      .default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // "Acme" and "acme " are the same company to a person. It also orders the
    // plain list (names are unique under it, so the id never breaks a tie).
    uniqueIndex('companies_name_key').on(sql`lower(btrim(${t.name}))`),
    // Typo-tolerant lookup by name (pg_trgm, created by the same migration):
    // word similarity (`<%`) on lower(name) reads this index, not every company.
    index('companies_name_trgm_idx').using('gin', sql`lower(${t.name}) gin_trgm_ops`),
  ],
);
