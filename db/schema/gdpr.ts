import { sql } from 'drizzle-orm';
import { index, jsonb, pgEnum, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz, updatedAt } from './columns';
import { jobs } from './jobs';
import { users } from './users';

export const gdprRequestStatuses = ['open', 'overdue', 'completed', 'declined'] as const;
export const gdprDeclineReasons = ['legal_hold', 'contract', 'legal_claims', 'other'] as const;

export const gdprRequestState = pgEnum('gdpr_request_state', gdprRequestStatuses);
export const gdprDeclineReason = pgEnum('gdpr_decline_reason', gdprDeclineReasons);

/** One place the erasure removed data from, and how much. */
export interface ErasedPlace {
  place: string;
  count: number;
}

/** The proof that an erasure request was carried out. IDs, places and counts only. */
export interface CompletionRecord {
  jobId: string;
  customerId: string;
  erasedAt: string;
  places: ErasedPlace[];
  /** The kinds of identifier the erasure looked for in saved searches (email, phone, …). */
  identifierKindsChecked?: string[];
}

/** An erasure request and the proof that it was carried out, or why it was declined. */
export const gdprRequests = pgTable(
  'gdpr_requests',
  {
    id: id(),
    /** Not a foreign key: the customer is erased, the request stays. */
    customerId: uuid('customer_id').notNull(),
    /** An opaque ticket reference from the compliance team's own system. */
    reference: text('reference'),
    receivedAt: timestamptz('received_at').notNull(),
    dueAt: timestamptz('due_at').notNull(),
    status: gdprRequestState('status').notNull().default('open'),
    requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
    erasureJobId: uuid('erasure_job_id').references(() => jobs.id, { onDelete: 'set null' }),
    completionRecord: jsonb('completion_record').$type<CompletionRecord>(),
    declineReason: gdprDeclineReason('decline_reason'),
    /** Free text; erased together with the customer's data. */
    declineNote: text('decline_note'),
    declinedBy: uuid('declined_by').references(() => users.id, { onDelete: 'set null' }),
    completedAt: timestamptz('completed_at'),
    /** The Idempotency-Key of the request that recorded it: a retry gives back this request. */
    idempotencyKey: text('idempotency_key'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('gdpr_requests_customer_idx').on(t.customerId),
    index('gdpr_requests_status_due_idx').on(t.status, t.dueAt, t.id),
    index('gdpr_requests_received_idx').on(t.receivedAt),
    uniqueIndex('gdpr_requests_idempotency_key').on(t.requestedBy, t.idempotencyKey),
    // At most one request per customer is being worked on at a time.
    uniqueIndex('gdpr_requests_one_open_per_customer')
      .on(t.customerId)
      .where(sql`${t.status} in ('open', 'overdue')`),
  ],
);
