import { sql } from 'drizzle-orm';
import {
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz, updatedAt } from './columns';
import { users } from './users';

export const webhookEndpointStatuses = ['enabled', 'disabled', 'paused'] as const;

/**
 * A subscribed receiver. The secret is kept in clear because signing needs
 * it; during a rotation's grace period the previous one signs as well.
 * `leaseUntil` is the dispatcher's per-endpoint lock: one worker delivers to
 * an endpoint at a time, which keeps its events in order.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: id(),
  url: text('url').notNull(),
  description: text('description'),
  eventTypes: text('event_types').array().notNull(),
  secret: text('secret').notNull(),
  previousSecret: text('previous_secret'),
  previousSecretExpiresAt: timestamptz('previous_secret_expires_at'),
  status: text('status', { enum: webhookEndpointStatuses }).notNull().default('enabled'),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  pausedAt: timestamptz('paused_at'),
  leaseUntil: timestamptz('lease_until'),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * The outbox: one row per event, written in the transaction of the change
 * that caused it. The ID is the idempotency key consumers see. IDs and counts only.
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: id(),
    type: text('type').notNull(),
    occurredAt: timestamptz('occurred_at').notNull().defaultNow(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    index('webhook_events_occurred_idx').on(t.occurredAt),
    // An erasure's receipts are found by the customer its event names.
    index('webhook_events_erasure_customer_idx')
      .on(sql`(${t.payload}->>'customerId')`)
      .where(sql`${t.type} = 'customer.erasure_requested'`),
  ],
);

export const webhookDeliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export const webhookAckChannels = ['response', 'api'] as const;

/**
 * One row per event and subscribed endpoint. `seq` orders an endpoint's
 * deliveries (commit order is not known, insertion order is close enough and total).
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    status: text('status', { enum: webhookDeliveryStatuses }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamptz('next_attempt_at').notNull().defaultNow(),
    lastStatusCode: integer('last_status_code'),
    deliveredAt: timestamptz('delivered_at'),
    /**
     * When the receiver confirmed it acted on the event: a 2xx other than 202
     * confirms at once (`response`); a 202 says it will, later, through
     * `POST /v1/webhook-deliveries/{id}/ack` (`api`). Erasure receipts read it.
     */
    acknowledgedAt: timestamptz('acknowledged_at'),
    acknowledgedVia: text('acknowledged_via', { enum: webhookAckChannels }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_endpoint_event').on(t.endpointId, t.eventId),
    index('webhook_deliveries_pending_idx')
      .on(t.endpointId, t.seq)
      .where(sql`${t.status} = 'pending'`),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.seq),
  ],
);

/** Every POST made: status code, timing and an error class, never a body. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attemptedAt: timestamptz('attempted_at').notNull().defaultNow(),
    statusCode: integer('status_code'),
    durationMs: integer('duration_ms').notNull(),
    errorClass: text('error_class'),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId, t.id)],
);
