import { sql } from 'drizzle-orm';
import {
  bigserial,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { ErasureReceipts } from '../../domain/webhooks';
import { createdAt, id, timestamptz, updatedAt } from './columns';
import { jobs } from './jobs';
import { users } from './users';

export const gdprRequestStatuses = ['open', 'overdue', 'completed', 'declined'] as const;
/** Why a person's request is refused; a user picks one when declining. */
export const gdprDeclineReasons = ['legal_hold', 'contract', 'legal_claims', 'other'] as const;
/**
 * Set by Custodian, never picked: an open access request closed because its
 * customer was erased, so no copy of the erased data can be made or kept.
 */
export const systemDeclineReasons = ['customer_erased'] as const;

/** What the person asked for: to be erased, or for a copy of their data (Art. 15 / 20, CCPA right to know). */
export const privacyRequestTypes = ['erasure', 'access'] as const;
/** The law a request is made under; each has its own clock (lib/config.ts `privacy.regulations`). */
export const privacyRegulations = ['gdpr', 'uk_gdpr', 'ccpa'] as const;
/** Why a clock is stopped: the controller waits for the requester. */
export const privacyPauseReasons = [
  'awaiting_identity_verification',
  'awaiting_clarification',
] as const;
/** How an access request's copy reached the person (the sending itself is outside Custodian). */
export const privacyDeliveryMethods = ['email', 'portal', 'post', 'other'] as const;
export const privacyClockKinds = ['extend', 'pause', 'resume'] as const;

export const privacyRequestType = pgEnum('privacy_request_type', privacyRequestTypes);
export const privacyRegulation = pgEnum('privacy_regulation', privacyRegulations);
export const privacyPauseReason = pgEnum('privacy_pause_reason', privacyPauseReasons);
export const privacyDeliveryMethod = pgEnum('privacy_delivery_method', privacyDeliveryMethods);
export const privacyClockKind = pgEnum('privacy_clock_kind', privacyClockKinds);

export const gdprRequestState = pgEnum('gdpr_request_state', gdprRequestStatuses);
export const gdprDeclineReason = pgEnum('gdpr_decline_reason', [
  ...gdprDeclineReasons,
  ...systemDeclineReasons,
]);

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
  /** Each subscribed system's receipt of the erasure when the request was completed (docs/webhooks.md). */
  downstream?: ErasureReceipts;
}

/** An erasure request and the proof that it was carried out, or why it was declined. */
export const gdprRequests = pgTable(
  'gdpr_requests',
  {
    id: id(),
    /** Not a foreign key: the customer is erased, the request stays. */
    customerId: uuid('customer_id').notNull(),
    type: privacyRequestType('type').notNull().default('erasure'),
    regulation: privacyRegulation('regulation').notNull().default('gdpr'),
    /** An opaque ticket reference from the compliance team's own system. */
    reference: text('reference'),
    receivedAt: timestamptz('received_at').notNull(),
    dueAt: timestamptz('due_at').notNull(),
    /**
     * The deadline the regulation's statutory period gave at recording; the
     * ceiling of extensions is this + the regulation's maximum extension +
     * `pausedDays`. Null on requests recorded before clocks could move (their
     * `dueAt` had never moved, so it is that deadline).
     */
    statutoryDueAt: timestamptz('statutory_due_at'),
    /** Set while the clock is stopped; `dueAt` moves when it restarts. */
    pausedAt: timestamptz('paused_at'),
    pauseReason: privacyPauseReason('pause_reason'),
    /** Whole days the clock has stood still, over every pause so far. */
    pausedDays: integer('paused_days').notNull().default(0),
    status: gdprRequestState('status').notNull().default('open'),
    requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
    erasureJobId: uuid('erasure_job_id').references(() => jobs.id, { onDelete: 'set null' }),
    completionRecord: jsonb('completion_record').$type<CompletionRecord>(),
    declineReason: gdprDeclineReason('decline_reason'),
    /** Free text; erased together with the customer's data. */
    declineNote: text('decline_note'),
    declinedBy: uuid('declined_by').references(() => users.id, { onDelete: 'set null' }),
    completedAt: timestamptz('completed_at'),
    /**
     * When it was completed or declined: its records are purged at this +
     * the regulation's records retention (operations/privacy-retention.ts).
     * Backfilled from `completedAt` / `updatedAt` for requests closed before.
     */
    closedAt: timestamptz('closed_at'),
    /** How an access request's copy was delivered (the time is `completedAt`). */
    deliveryMethod: privacyDeliveryMethod('delivery_method'),
    /** Free text; erased together with the customer's data. */
    deliveryNote: text('delivery_note'),
    deliveredBy: uuid('delivered_by').references(() => users.id, { onDelete: 'set null' }),
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
    index('gdpr_requests_type_regulation_idx').on(t.type, t.regulation),
    index('gdpr_requests_closed_idx')
      .on(t.regulation, t.closedAt)
      .where(sql`${t.closedAt} is not null`),
    // At most one request of each type per customer is being worked on at a time.
    uniqueIndex('gdpr_requests_one_open_per_customer_type')
      .on(t.customerId, t.type)
      .where(sql`${t.status} in ('open', 'overdue')`),
  ],
);

/**
 * Every move of a request's clock: an extension, a pause, a restart. The
 * requester-facing record of when and why the deadline moved. `reason` is an
 * extension's free text or a pause's code; `note` is free text, erased with
 * the customer.
 */
export const privacyRequestClock = pgTable(
  'privacy_request_clock',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    requestId: uuid('request_id')
      .notNull()
      .references(() => gdprRequests.id, { onDelete: 'cascade' }),
    kind: privacyClockKind('kind').notNull(),
    reason: text('reason').notNull(),
    note: text('note'),
    at: timestamptz('at').notNull(),
    dueAtBefore: timestamptz('due_at_before').notNull(),
    dueAtAfter: timestamptz('due_at_after').notNull(),
    /** Whole days a restart added (the pause's length, rounded up); 0 otherwise. */
    pausedDays: integer('paused_days').notNull().default(0),
    actorUserId: uuid('actor_user_id').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [index('privacy_request_clock_request_idx').on(t.requestId, t.id)],
);
