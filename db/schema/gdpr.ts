import { index, jsonb, pgEnum, pgTable, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz } from './columns';
import { jobs } from './jobs';
import { users } from './users';

export const gdprRequestStatus = pgEnum('gdpr_request_status', [
  'open',
  'in_progress',
  'completed',
  'cancelled',
]);

/** An erasure request and the proof that it was carried out. */
export const gdprRequests = pgTable(
  'gdpr_requests',
  {
    id: id(),
    /** Not a foreign key: the customer is erased, the request stays. */
    customerId: uuid('customer_id').notNull(),
    receivedAt: timestamptz('received_at').notNull(),
    dueAt: timestamptz('due_at').notNull(),
    status: gdprRequestStatus('status').notNull().default('open'),
    requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
    erasureJobId: uuid('erasure_job_id').references(() => jobs.id, { onDelete: 'set null' }),
    /** Each place the data was erased from, with when: database, search index, jobs, notifications. */
    erasedFrom: jsonb('erased_from').$type<Record<string, string>>().notNull().default({}),
    lastReminderAt: timestamptz('last_reminder_at'),
    completedAt: timestamptz('completed_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('gdpr_requests_customer_idx').on(t.customerId),
    index('gdpr_requests_status_due_idx').on(t.status, t.dueAt),
  ],
);
