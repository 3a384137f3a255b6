import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { WebhookEventType, WebhookPayload } from '../../domain/webhooks';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { DomainError, notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { uuidArray } from '../sql';
import {
  users,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
  webhookEvents,
} from '../schema';
import { audit } from './audit';
import { addInAppNotifications } from './notifications';

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;

/** Notified (on commit) when deliveries were queued, so the dispatcher looks at once. */
export const WEBHOOK_QUEUED_CHANNEL = 'custodian_webhooks_queued';

/**
 * Records an event (or several of one type, given an array) in the caller's
 * transaction — the outbox — and queues one delivery per endpoint subscribed
 * to the type that is not disabled (a paused endpoint keeps queueing, so
 * resuming replays what it missed). It commits and rolls back with the change
 * that caused it. Without any subscriber nothing is written: there is no one
 * to tell. Payloads hold IDs and counts only.
 */
export async function recordWebhookEvent(
  tx: Queryable,
  type: WebhookEventType,
  payload: WebhookPayload | WebhookPayload[],
): Promise<void> {
  const payloads = Array.isArray(payload) ? payload : [payload];
  if (payloads.length === 0) return;
  // One round trip: callers hold row locks (a customer's) while they call this.
  await tx.execute(sql`
    with subscribed as (
      select id from webhook_endpoints
      where status <> 'disabled' and ${type} = any(event_types)),
    event as (
      insert into webhook_events (type, payload)
      select ${type}, p.value from jsonb_array_elements(${JSON.stringify(payloads)}::jsonb)
        with ordinality as p(value, n)
      where exists (select 1 from subscribed)
      order by p.n
      returning id),
    queued as (
      insert into webhook_deliveries (endpoint_id, event_id)
      select subscribed.id, event.id from subscribed cross join event
      order by subscribed.id, event.id
      returning 1)
    select pg_notify(${WEBHOOK_QUEUED_CHANNEL}, '') from (select 1 from queued limit 1) q`);
}

/**
 * `<entity>.deleted` for each object a deletion job erased, and for a
 * customer also `customer.erasure_requested`: deleting a customer erases
 * everything of them, whether by a single delete, a bulk erasure or a privacy
 * request (whose IDs it names), and every system holding a copy is asked to
 * erase theirs and to acknowledge it (the request's receipts).
 */
export async function recordDeletionEvents(
  tx: Queryable,
  entity: 'customer' | 'conversation' | 'kobject',
  ids: string[],
  jobId: string | null | undefined,
): Promise<void> {
  await recordWebhookEvent(
    tx,
    `${entity}.deleted`,
    ids.map((id) => ({ [`${entity}Id`]: id, jobId: jobId ?? null })),
  );
  if (entity === 'customer' && ids.length > 0) await recordErasureEvents(tx, ids, jobId ?? null);
}

async function recordErasureEvents(
  tx: Queryable,
  customerIds: string[],
  jobId: string | null,
): Promise<void> {
  const requests = await tx.execute<{ customer_id: string; id: string }>(sql`
    select customer_id, id from gdpr_requests
    where customer_id = any(${uuidArray(customerIds)}) and type = 'erasure'
      and status in ('open', 'overdue')`);
  await recordWebhookEvent(
    tx,
    'customer.erasure_requested',
    customerIds.map((customerId) => ({
      customerId,
      jobId,
      privacyRequestIds: requests.rows.filter((r) => r.customer_id === customerId).map((r) => r.id),
    })),
  );
}

export const newWebhookSecret = () => `whsec_${randomBytes(24).toString('base64url')}`;

export async function insertWebhookEndpoint(
  db: Queryable,
  values: {
    url: string;
    description: string | null;
    eventTypes: string[];
    enabled: boolean;
    createdBy: string;
  },
): Promise<WebhookEndpointRow> {
  const [row] = await db
    .insert(webhookEndpoints)
    .values({
      url: values.url,
      description: values.description,
      eventTypes: values.eventTypes,
      status: values.enabled ? 'enabled' : 'disabled',
      createdBy: values.createdBy,
      secret: newWebhookSecret(),
    })
    .returning();
  return row!;
}

export async function listWebhookEndpoints(db: Queryable): Promise<WebhookEndpointRow[]> {
  return db.select().from(webhookEndpoints).orderBy(asc(webhookEndpoints.createdAt));
}

export async function getWebhookEndpoint(db: Queryable, id: string): Promise<WebhookEndpointRow> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  if (!row) throw notFound('Webhook', id);
  return row;
}

/**
 * Changes an endpoint. Enabling a paused one is what `resume` does; disabling
 * stops new deliveries being queued, pending ones wait for it to be enabled.
 */
export async function updateWebhookEndpoint(
  db: Queryable,
  id: string,
  patch: { url?: string; description?: string | null; eventTypes?: string[]; enabled?: boolean },
): Promise<WebhookEndpointRow> {
  if (patch.enabled) return resumeWebhookEndpoint(db, id, patch);
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      ...(patch.url === undefined ? {} : { url: patch.url }),
      ...(patch.description === undefined ? {} : { description: patch.description }),
      ...(patch.eventTypes === undefined ? {} : { eventTypes: patch.eventTypes }),
      ...(patch.enabled === false ? { status: 'disabled' as const } : {}),
      updatedAt: sql`now()`,
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  if (!row) throw notFound('Webhook', id);
  return row;
}

/**
 * Enables an endpoint (paused or disabled) and makes everything it has
 * pending due now, so the dispatcher replays it oldest first.
 */
export async function resumeWebhookEndpoint(
  db: Queryable,
  id: string,
  patch: { url?: string; description?: string | null; eventTypes?: string[] } = {},
): Promise<WebhookEndpointRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(webhookEndpoints)
      .set({
        ...(patch.url === undefined ? {} : { url: patch.url }),
        ...(patch.description === undefined ? {} : { description: patch.description }),
        ...(patch.eventTypes === undefined ? {} : { eventTypes: patch.eventTypes }),
        status: 'enabled',
        consecutiveFailures: 0,
        pausedAt: null,
        updatedAt: sql`now()`,
      })
      .where(eq(webhookEndpoints.id, id))
      .returning();
    if (!row) throw notFound('Webhook', id);
    await tx.execute(sql`
      with due as (
        update webhook_deliveries set next_attempt_at = now()
        where endpoint_id = ${id} and status = 'pending')
      select pg_notify(${WEBHOOK_QUEUED_CHANNEL}, '')`);
    return row;
  });
}

/** A new secret; the old one keeps signing (as a second v1) until `graceMs` from now. */
export async function rotateWebhookSecret(
  db: Queryable,
  id: string,
  graceMs: number,
): Promise<WebhookEndpointRow> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      previousSecret: sql`${webhookEndpoints.secret}`,
      previousSecretExpiresAt: sql`now() + ${`${graceMs} milliseconds`}::interval`,
      secret: newWebhookSecret(),
      updatedAt: sql`now()`,
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  if (!row) throw notFound('Webhook', id);
  return row;
}

export async function deleteWebhookEndpoint(db: Queryable, id: string): Promise<void> {
  const rows = await db
    .delete(webhookEndpoints)
    .where(eq(webhookEndpoints.id, id))
    .returning({ id: webhookEndpoints.id });
  if (rows.length === 0) throw notFound('Webhook', id);
}

export interface DeliveryWithAttempts {
  delivery: WebhookDeliveryRow;
  eventType: string;
  attempts: WebhookAttemptRow[];
}

/** An endpoint's deliveries, newest first, with their attempts; keyset-paginated on `seq`. */
export async function listWebhookDeliveries(
  db: Queryable,
  endpointId: string,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
): Promise<{ items: DeliveryWithAttempts[]; nextCursor: string | null }> {
  await getWebhookEndpoint(db, endpointId);
  const conditions = [eq(webhookDeliveries.endpointId, endpointId)];
  if (cursor) {
    const [seq] = decodeCursor(cursor, ['integer']);
    conditions.push(lt(webhookDeliveries.seq, seq));
  }
  const rows = await db
    .select({ delivery: webhookDeliveries, eventType: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(...conditions))
    .orderBy(desc(webhookDeliveries.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const attempts = page.length
    ? await db
        .select()
        .from(webhookAttempts)
        .where(
          inArray(
            webhookAttempts.deliveryId,
            page.map((r) => r.delivery.id),
          ),
        )
        .orderBy(asc(webhookAttempts.id))
    : [];
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      ...r,
      attempts: attempts.filter((a) => a.deliveryId === r.delivery.id),
    })),
    nextCursor: rows.length > limit && last ? encodeCursor([last.delivery.seq]) : null,
  };
}

/** Queues a delivery again (whatever its state), due now. */
export async function resendWebhookDelivery(
  db: Queryable,
  id: string,
): Promise<WebhookDeliveryRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(webhookDeliveries)
      .set({ status: 'pending', nextAttemptAt: sql`now()`, deliveredAt: null })
      .where(eq(webhookDeliveries.id, id))
      .returning();
    if (!row) throw notFound('Webhook delivery', id);
    await tx.execute(sql`select pg_notify(${WEBHOOK_QUEUED_CHANNEL}, '')`);
    return row;
  });
}

/**
 * Takes the delivery lease of one enabled endpoint whose oldest pending
 * delivery is due and that no dispatcher holds; undefined when none is.
 */
export async function claimWebhookEndpoint(
  db: Queryable,
  leaseMs: number,
  exclude: string[],
  only?: readonly string[],
): Promise<WebhookEndpointRow | undefined> {
  if (only && only.length === 0) return undefined;
  const result = await db.execute<{ id: string }>(sql`
    update webhook_endpoints set lease_until = now() + ${`${leaseMs} milliseconds`}::interval
    where id = (
      select e.id from webhook_endpoints e
      where e.status = 'enabled'
        and (e.lease_until is null or e.lease_until < now())
        and not (e.id = any(${`{${exclude.join(',')}}`}::uuid[]))
        and ${only ? sql`e.id = any(${uuidArray(only)})` : sql`true`}
        and (select d.next_attempt_at from webhook_deliveries d
             where d.endpoint_id = e.id and d.status = 'pending'
             order by d.seq limit 1) <= now()
      order by e.lease_until nulls first
      limit 1
      for update skip locked)
    returning id`);
  const id = result.rows[0]?.id;
  return id ? getWebhookEndpoint(db, id) : undefined;
}

export async function releaseWebhookEndpoint(db: Queryable, id: string): Promise<void> {
  await db.update(webhookEndpoints).set({ leaseUntil: null }).where(eq(webhookEndpoints.id, id));
}

export type WebhookEventRow = typeof webhookEvents.$inferSelect;

/**
 * Renews the endpoint's lease and gives its next deliveries in order, with
 * their events: at most `limit`, and only the due ones before the first that
 * is not (a delivery waiting for its retry holds back the later ones, which
 * keeps the endpoint's order). Undefined when the endpoint is no longer
 * enabled; the lease's new end otherwise.
 */
export async function nextDueDeliveries(
  db: Queryable,
  endpointId: string,
  leaseMs: number,
  limit: number,
): Promise<
  | {
      endpoint: WebhookEndpointRow;
      leaseUntil: Date;
      due: { delivery: WebhookDeliveryRow; event: WebhookEventRow }[];
    }
  | undefined
> {
  const endpoint = await renewWebhookLease(db, endpointId, leaseMs);
  if (!endpoint) return undefined;
  const rows = await db
    .select({ delivery: webhookDeliveries, event: webhookEvents, now: sql<Date>`now()` })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(
      and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.status, 'pending')),
    )
    .orderBy(asc(webhookDeliveries.seq))
    .limit(limit);
  const notDue = rows.findIndex((r) => r.delivery.nextAttemptAt > new Date(r.now));
  const due = (notDue === -1 ? rows : rows.slice(0, notDue)).map(({ delivery, event }) => ({
    delivery,
    event,
  }));
  return { endpoint, leaseUntil: endpoint.leaseUntil!, due };
}

/** Extends an enabled endpoint's lease; undefined once it is paused, disabled or gone. */
export async function renewWebhookLease(
  db: Queryable,
  endpointId: string,
  leaseMs: number,
): Promise<WebhookEndpointRow | undefined> {
  const [endpoint] = await db
    .update(webhookEndpoints)
    .set({ leaseUntil: sql`now() + ${`${leaseMs} milliseconds`}::interval` })
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.status, 'enabled')))
    .returning();
  return endpoint;
}

/**
 * A 2xx confirms the event at once, except 202 Accepted: the receiver took it
 * and will confirm later through the ack route (an erasure done asynchronously).
 */
export const confirmsAtOnce = (statusCode: number | null) => statusCode !== 202;

/**
 * Records accepted deliveries (2xx) of one endpoint in one transaction: their
 * attempts, their `delivered` status, the acknowledgement a 2xx other than
 * 202 gives, and the end of the endpoint's failure streak.
 */
export async function recordWebhookSuccesses(
  db: Queryable,
  endpointId: string,
  accepted: { delivery: WebhookDeliveryRow; outcome: AttemptOutcome }[],
): Promise<void> {
  if (accepted.length === 0) return;
  const ids = accepted.map((a) => a.delivery.id);
  const codes = `{${accepted.map((a) => a.outcome.statusCode ?? 200).join(',')}}`;
  const durations = `{${accepted.map((a) => a.outcome.durationMs).join(',')}}`;
  const acks = `{${accepted.map((a) => confirmsAtOnce(a.outcome.statusCode)).join(',')}}`;
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into webhook_attempts (delivery_id, status_code, duration_ms)
      select * from unnest(${uuidArray(ids)}, ${codes}::int[], ${durations}::int[])`);
    await tx.execute(sql`
      update webhook_deliveries d set
        attempts = d.attempts + 1,
        last_status_code = v.code,
        status = 'delivered',
        delivered_at = now(),
        acknowledged_via = case when v.ack and d.acknowledged_at is null then 'response'
                                else d.acknowledged_via end,
        acknowledged_at = case when v.ack then coalesce(d.acknowledged_at, now())
                               else d.acknowledged_at end
      from unnest(${uuidArray(ids)}, ${codes}::int[], ${acks}::bool[]) as v(id, code, ack)
      where d.id = v.id and d.status = 'pending'`);
    await tx
      .update(webhookEndpoints)
      .set({ consecutiveFailures: 0 })
      .where(
        and(eq(webhookEndpoints.id, endpointId), sql`${webhookEndpoints.consecutiveFailures} > 0`),
      );
  });
}

/**
 * A receiver's later confirmation that it acted on a delivery's event (it
 * answered 202, or its answer was lost): the delivery counts as delivered
 * and acknowledged from now. Only erasure events ask for one. Repeating it
 * changes nothing.
 */
export async function acknowledgeWebhookDelivery(
  db: Queryable,
  id: string,
  userId: string,
): Promise<WebhookDeliveryRow & { eventType: string }> {
  return db.transaction(async (tx) => {
    const [found] = await tx
      .select({ delivery: webhookDeliveries, eventType: webhookEvents.type })
      .from(webhookDeliveries)
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .where(eq(webhookDeliveries.id, id))
      .for('update', { of: webhookDeliveries });
    if (!found) throw notFound('Webhook delivery', id);
    if (found.eventType !== 'customer.erasure_requested') {
      throw new DomainError(
        'conflict',
        'WEBHOOK_ACK_NOT_EXPECTED',
        `Only customer.erasure_requested deliveries are acknowledged; this one is ${found.eventType}.`,
        { eventType: found.eventType },
      );
    }
    if (found.delivery.acknowledgedAt) return { ...found.delivery, eventType: found.eventType };
    const [row] = await tx
      .update(webhookDeliveries)
      .set({
        status: 'delivered',
        deliveredAt: sql`coalesce(${webhookDeliveries.deliveredAt}, now())`,
        acknowledgedAt: sql`now()`,
        acknowledgedVia: 'api',
      })
      .where(eq(webhookDeliveries.id, id))
      .returning();
    await audit(tx, [
      {
        actorUserId: userId,
        action: 'webhook_delivery.acknowledged',
        objectType: 'webhook_delivery',
        objectId: id,
        details: { endpointId: row!.endpointId, eventId: row!.eventId },
      },
    ]);
    return { ...row!, eventType: found.eventType };
  });
}

/**
 * Deletes up to `limit` events older than `retentionMs` that nothing waits
 * on any more (no delivery pending, no erasure awaiting its acknowledgement),
 * with their deliveries and attempts. Returns how many went.
 */
export async function deleteOldWebhookEvents(
  db: Queryable,
  retentionMs: number,
  limit = 1000,
): Promise<number> {
  const result = await db.execute(sql`
    delete from webhook_events where id in (
      select e.id from webhook_events e
      where e.occurred_at < now() - ${`${retentionMs} milliseconds`}::interval
        and not exists (
          select 1 from webhook_deliveries d
          where d.event_id = e.id
            and (d.status = 'pending'
                 or (e.type = 'customer.erasure_requested' and d.status = 'delivered'
                     and d.acknowledged_at is null)))
      order by e.occurred_at
      limit ${limit}
      for update skip locked)
    returning id`);
  return result.rows.length;
}

export interface AttemptOutcome {
  statusCode: number | null;
  durationMs: number;
  errorClass: string | null;
}

export interface DeliveryPolicy {
  maxAgeMs: number;
  breakerThreshold: number;
  /** Delay before the next try after `attempts` failed ones. */
  retryDelayMs(attempts: number): number;
}

/**
 * Records one attempt and its consequence in one transaction: delivered, or
 * retried later, or given up once older than `maxAgeMs`; the endpoint's
 * failure streak, and the breaker that pauses it (admins told in-app).
 * Returns whether the endpoint was paused by this attempt.
 */
export async function recordWebhookAttempt(
  db: Queryable,
  delivery: WebhookDeliveryRow,
  outcome: AttemptOutcome,
  policy: DeliveryPolicy,
): Promise<{ paused: boolean }> {
  const ok = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
  return db.transaction(async (tx) => {
    await tx.insert(webhookAttempts).values({ deliveryId: delivery.id, ...outcome });
    const attempts = delivery.attempts + 1;
    const expired = Date.now() - delivery.createdAt.getTime() >= policy.maxAgeMs;
    await tx
      .update(webhookDeliveries)
      .set({
        attempts,
        lastStatusCode: outcome.statusCode,
        ...(ok
          ? { status: 'delivered' as const, deliveredAt: sql`now()` }
          : expired
            ? { status: 'failed' as const }
            : {
                nextAttemptAt: sql`now() + ${`${policy.retryDelayMs(attempts)} milliseconds`}::interval`,
              }),
      })
      .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.status, 'pending')));
    if (ok) {
      await tx
        .update(webhookEndpoints)
        .set({ consecutiveFailures: 0 })
        .where(eq(webhookEndpoints.id, delivery.endpointId));
      return { paused: false };
    }
    const [endpoint] = await tx
      .update(webhookEndpoints)
      .set({
        consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + 1`,
        status: sql`case when ${webhookEndpoints.consecutiveFailures} + 1 >= ${policy.breakerThreshold}
          and ${webhookEndpoints.status} = 'enabled' then 'paused' else ${webhookEndpoints.status} end`,
        pausedAt: sql`case when ${webhookEndpoints.consecutiveFailures} + 1 >= ${policy.breakerThreshold}
          and ${webhookEndpoints.status} = 'enabled' then now() else ${webhookEndpoints.pausedAt} end`,
      })
      .where(eq(webhookEndpoints.id, delivery.endpointId))
      .returning();
    const paused =
      endpoint?.status === 'paused' && endpoint.consecutiveFailures === policy.breakerThreshold;
    if (paused) await notifyAdminsOfPause(tx, endpoint);
    return { paused };
  });
}

async function notifyAdminsOfPause(tx: Queryable, endpoint: WebhookEndpointRow): Promise<void> {
  const admins = await tx.select({ id: users.id }).from(users).where(eq(users.isAdmin, true));
  const pausedAt = endpoint.pausedAt?.toISOString() ?? '';
  await addInAppNotifications(
    tx,
    admins.map((admin) => ({
      noticeKey: `webhook-paused:${endpoint.id}:${pausedAt}`,
      userId: admin.id,
      kind: 'webhook_paused',
      title: 'Webhook endpoint paused',
      body:
        `Webhook ${endpoint.id} failed ${endpoint.consecutiveFailures} deliveries in a row and was paused. ` +
        `Events keep queueing; POST /v1/webhooks/${endpoint.id}/resume sends them, oldest first.`,
    })),
  );
}

/** Secrets that sign now: the current one, and the previous one during its grace period. */
export function signingSecrets(endpoint: WebhookEndpointRow, now = new Date()): string[] {
  const previous =
    endpoint.previousSecret &&
    endpoint.previousSecretExpiresAt &&
    endpoint.previousSecretExpiresAt > now
      ? [endpoint.previousSecret]
      : [];
  return [endpoint.secret, ...previous];
}
