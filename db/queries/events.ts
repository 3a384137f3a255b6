import { and, eq, sql, type SQL } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { notFound } from '../../lib/errors';
import type { Queryable, Transaction } from '../client';
import { customers, engagementEvents } from '../schema';
import { enqueueSearchSync } from './search-outbox';

export type EventRow = typeof engagementEvents.$inferSelect;

export interface NewEvent {
  type: string;
  /** ISO-8601 as sent; Postgres parses it, so microseconds survive. */
  occurredAt: string;
  properties?: Record<string, unknown> | undefined;
  externalId?: string | undefined;
}

export interface RecordedBatch {
  received: number;
  created: number;
  duplicates: number;
}

/**
 * Records a batch in one transaction: all or nothing. The customer row is
 * locked once, first, by the statement that moves its last activity forward;
 * the insert's foreign-key check then needs no stronger lock than the one held,
 * so parallel batches on one customer queue up instead of deadlocking. Events
 * whose external ID the customer already holds (or that repeat one within the
 * batch) are skipped and counted as duplicates.
 */
export function recordEvents(
  db: Queryable,
  customerId: string,
  events: readonly NewEvent[],
): Promise<RecordedBatch> {
  if (events.length === 0) return Promise.resolve({ received: 0, created: 0, duplicates: 0 });
  const latest = events.reduce((a, b) =>
    Date.parse(b.occurredAt) > Date.parse(a.occurredAt) ? b : a,
  ).occurredAt;
  const rows = JSON.stringify(
    events.map((e) => ({
      type: e.type,
      occurred_at: e.occurredAt,
      properties: e.properties ?? {},
      external_id: e.externalId ?? null,
    })),
  );
  return db.transaction(async (tx) => {
    const touched = await tx
      .update(customers)
      .set({ lastActivityAt: sql`greatest(${customers.lastActivityAt}, ${latest}::timestamptz)` })
      .where(eq(customers.id, customerId))
      .returning({ moved: sql<boolean>`${customers.lastActivityAt} = ${latest}::timestamptz` });
    if (touched.length === 0) throw notFound('Customer', customerId);
    // Search sorts customers by last activity: re-index the customer when this batch moved it.
    if (touched[0]!.moved) await enqueueSearchSync(tx, 'customer', [customerId]);
    // One statement for the whole batch, its rows in a single JSON parameter.
    const inserted = await tx.execute(sql`
      insert into engagement_events (customer_id, type, occurred_at, properties, external_id)
      select ${customerId}::uuid, e.type, e.occurred_at, e.properties, e.external_id
        from jsonb_to_recordset(${rows}::jsonb)
          as e(type text, occurred_at timestamptz, properties jsonb, external_id text)
      on conflict (customer_id, external_id) where external_id is not null do nothing`);
    const created = inserted.rowCount ?? 0;
    return { received: events.length, created, duplicates: events.length - created };
  });
}

async function assertCustomerExists(db: Queryable, customerId: string): Promise<void> {
  const [row] = await db
    .select({ id: customers.id })
    .from(customers)
    .where(eq(customers.id, customerId));
  if (!row) throw notFound('Customer', customerId);
}

export interface EventFilter {
  type?: string | undefined;
  /** Inclusive. */
  from?: string | undefined;
  /** Exclusive. */
  to?: string | undefined;
}

/**
 * A customer's events, newest first, keyset-paginated on (occurred_at, id) so
 * every page is an index range scan, however many events the customer has.
 */
export async function listEvents(
  db: Queryable,
  customerId: string,
  { limit, cursor, ...filter }: EventFilter & { limit: number; cursor?: string | undefined },
): Promise<{ items: EventRow[]; nextCursor: string | null }> {
  await assertCustomerExists(db, customerId);
  const e = engagementEvents;
  const conditions: SQL[] = [eq(e.customerId, customerId)];
  if (filter.type) conditions.push(eq(e.type, filter.type));
  if (filter.from) conditions.push(sql`${e.occurredAt} >= ${filter.from}::timestamptz`);
  if (filter.to) conditions.push(sql`${e.occurredAt} < ${filter.to}::timestamptz`);
  if (cursor) {
    const [occurredAt, id] = decodeCursor(cursor, ['timestamp', 'uuid']);
    conditions.push(sql`(${e.occurredAt}, ${e.id}) < (${occurredAt}::timestamptz, ${id}::uuid)`);
  }
  const rows = await db
    .select({ event: e, sortKey: sql<string>`${e.occurredAt}::text` })
    .from(e)
    .where(and(...conditions))
    .orderBy(sql`${e.occurredAt} desc`, sql`${e.id} desc`)
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => row.event),
    nextCursor: rows.length > limit && last ? encodeCursor([last.sortKey, last.event.id]) : null,
  };
}

/**
 * A customer's events as timeline rows (never pinned), newest first, at most
 * `limit` of them after the keyset position `after` (occurred_at text, id).
 * Limited here so the timeline reads a few index entries, not every event.
 */
export function eventTimelineItems(
  customerId: string,
  after: { sortKey: string; id: string } | undefined,
  limit: number,
): SQL {
  const position = after
    ? sql`and (ev.occurred_at, ev.id) < (${after.sortKey}::timestamptz, ${after.id}::uuid)`
    : sql``;
  return sql`
    select * from (
      select 'event' as type, ev.id, ev.customer_id, ev.type as title, null as channel,
             null as status, null as klass, ev.occurred_at as last_activity_at,
             null::timestamptz as pinned_at
        from engagement_events ev
       where ev.customer_id = ${customerId} ${position}
       order by ev.occurred_at desc, ev.id desc
       limit ${limit}
    ) events`;
}

/** The newest event of a customer as SQL, for working out its last activity again. */
export const latestEventAt = (customerId: SQL) =>
  sql`(select max(occurred_at) from engagement_events where customer_id = ${customerId})`;

export interface EventsPreview {
  total: number;
  byType: Record<string, number>;
  latest: { id: string; type: string; occurredAt: string }[];
}

/** What a merge would move: the source's events counted by type, and the latest five. */
export async function eventsPreview(db: Queryable, customerId: string): Promise<EventsPreview> {
  const e = engagementEvents;
  const counts = await db
    .select({ type: e.type, n: sql<number>`count(*)::int` })
    .from(e)
    .where(eq(e.customerId, customerId))
    .groupBy(e.type)
    .orderBy(e.type);
  const latest = await db
    .select({ id: e.id, type: e.type, occurredAt: e.occurredAt })
    .from(e)
    .where(eq(e.customerId, customerId))
    .orderBy(sql`${e.occurredAt} desc`, sql`${e.id} desc`)
    .limit(5);
  return {
    total: counts.reduce((sum, c) => sum + c.n, 0),
    // Own properties only: a type named like a prototype member is just a key here.
    byType: Object.fromEntries(counts.map((c) => [c.type, c.n])),
    latest: latest.map((l) => ({ ...l, occurredAt: l.occurredAt.toISOString() })),
  };
}

/**
 * Moves every event of `sourceId` to `targetId` (a merge, inside its
 * transaction, before the source row and its cascade go). An event whose
 * external ID the target already holds moves without it: the event is kept,
 * and re-sending it to the target is still recognised by the target's own copy.
 * Returns how many moved.
 */
export async function moveEvents(
  tx: Transaction,
  sourceId: string,
  targetId: string,
): Promise<number> {
  await tx.execute(sql`
    update engagement_events s set external_id = null
     where s.customer_id = ${sourceId} and s.external_id is not null
       and exists (select 1 from engagement_events t
                    where t.customer_id = ${targetId} and t.external_id = s.external_id)`);
  const moved = await tx.execute(sql`
    update engagement_events set customer_id = ${targetId} where customer_id = ${sourceId}`);
  return moved.rowCount ?? 0;
}
