import { desc, sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { companies } from './companies';
import type { EmailAddress, PhoneNumber, SocialHandle } from '../../domain/contacts';
import { createdAt, id, timestamptz, updatedAt } from './columns';

export type { EmailAddress, PhoneNumber, SocialHandle };

export const customers = pgTable(
  'customers',
  {
    id: id(),
    name: text('name').notNull(),
    companyId: uuid('company_id').references(() => companies.id, { onDelete: 'restrict' }),
    emails: jsonb('emails').$type<EmailAddress[]>().notNull().default([]),
    phones: jsonb('phones').$type<PhoneNumber[]>().notNull().default([]),
    socialHandles: jsonb('social_handles').$type<SocialHandle[]>().notNull().default([]),
    websites: jsonb('websites').$type<string[]>().notNull().default([]),
    externalId: text('external_id').unique(),
    customAttributes: jsonb('custom_attributes')
      .$type<Record<string, unknown>>()
      .notNull()
      .default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastActivityAt: timestamptz('last_activity_at').notNull().defaultNow(),
  },
  (t) => [
    index('customers_company_activity_idx').on(t.companyId, desc(t.lastActivityAt), desc(t.id)),
    index('customers_created_idx').on(desc(t.createdAt), desc(t.id)),
    // The company directory: by name, case-insensitively, keyset on (lower(name), id).
    index('customers_company_name_idx').on(t.companyId, sql`lower(${t.name})`, t.id),
  ],
);
