import { and, count, eq, sql, type SQL } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { notFound } from '../../lib/errors';
import type { Database, Queryable } from '../client';
import { conversations, customers, kobjects } from '../schema';
import { eventTimelineItems } from './events';
import { executePrepared, uuidArray } from '../sql';

export interface TimelineItem {
  type: 'conversation' | 'kobject' | 'event';
  id: string;
  customerId: string;
  title: string;
  channel: string | null;
  status: string | null;
  klass: string | null;
  lastActivityAt: Date;
  pinnedAt: Date | null;
}

interface TimelineRow {
  type: 'conversation' | 'kobject' | 'event';
  id: string;
  customer_id: string;
  title: string;
  channel: string | null;
  status: string | null;
  klass: string | null;
  last_activity_at: string;
  pinned_at: string | null;
  pinned: number;
  sort_key: string;
  [column: string]: unknown;
}

function toItem(row: TimelineRow): TimelineItem {
  return {
    type: row.type,
    id: row.id,
    customerId: row.customer_id,
    title: row.title,
    channel: row.channel,
    status: row.status,
    klass: row.klass,
    lastActivityAt: new Date(row.last_activity_at),
    pinnedAt: row.pinned_at ? new Date(row.pinned_at) : null,
  };
}

/** Where a page of the timeline starts: the sort key of the last item before it. */
interface TimelinePosition {
  pinned: boolean;
  sortKey: string;
  id: string;
}

/**
 * The timeline's order: pinned items first (most recently pinned on top), then
 * the rest by most recent activity, the ID breaking ties. As SQL over a table
 * alias, written exactly as the `*_customer_timeline_idx` indexes are, so that
 * each table's part of a page is one range of its index.
 */
function timelineOrder(alias: string) {
  const pinned = sql.raw(`(${alias}.pinned_at is not null)`);
  const sortKey = sql.raw(`coalesce(${alias}.pinned_at, ${alias}.last_activity_at)`);
  const id = sql.raw(`${alias}.id`);
  return {
    orderBy: sql`${pinned} desc, ${sortKey} desc, ${id} desc`,
    after: (position: TimelinePosition | undefined) =>
      position
        ? sql`and (${pinned}, ${sortKey}, ${id}) < (${position.pinned}, ${position.sortKey}::timestamptz, ${position.id}::uuid)`
        : sql``,
  };
}

/**
 * One page of a customer's timeline as SQL (exported so the query-plan test
 * explains exactly this). Each table reads its own first `limit + 1` rows after
 * the cursor from its index, and only those are merged and cut, so a page costs
 * the same at the first item as 50,000 items in. The sort key is carried in the
 * cursor as Postgres text so microsecond timestamps survive the round trip.
 */
export function customerTimelineQuery(
  customerId: string,
  {
    limit,
    cursor,
    includeEvents = false,
  }: { limit: number; cursor?: string | undefined; includeEvents?: boolean },
): SQL {
  let position: TimelinePosition | undefined;
  if (cursor) {
    const [pinned, sortKey, id] = decodeCursor(cursor, ['flag', 'timestamp', 'uuid']);
    position = { pinned: pinned === 1, sortKey, id };
  }
  const c = timelineOrder('c');
  const k = timelineOrder('k');
  // Events are never pinned: while the cursor is among the pins, every event is still ahead.
  const eventsAfter = position && !position.pinned ? position : undefined;
  const events = includeEvents
    ? sql`union all ${eventTimelineItems(customerId, eventsAfter, limit + 1)}`
    : sql``;
  return sql`
    select *, sort_key_ts::text as sort_key from (
      select t.*, (t.pinned_at is not null)::int as pinned, coalesce(t.pinned_at, t.last_activity_at) as sort_key_ts
      from (
        select * from (
          select 'conversation' as type, c.id, c.customer_id, c.subject as title, c.channel::text as channel,
                 c.status::text as status, null as klass, c.last_activity_at, c.pinned_at
            from conversations c
           where c.customer_id = ${customerId} ${c.after(position)}
           order by ${c.orderBy}
           limit ${limit + 1}
        ) conversations
        union all
        select 'kobject', k.id, k.customer_id, k.title, null, null, kl.name, k.last_activity_at, k.pinned_at
          from (
            select * from kobjects k
             where k.customer_id = ${customerId} ${k.after(position)}
             order by ${k.orderBy}
             limit ${limit + 1}
          ) k
          join klasses kl on kl.id = k.klass_id
        ${events}
      ) t
    ) ranked
    order by pinned desc, sort_key_ts desc, id desc
    limit ${limit + 1}`;
}

/**
 * A customer's timeline, a page at a time (see `customerTimelineQuery`). The
 * page's statement is prepared once per connection: parsing and planning it
 * cost as much as running it.
 */
export async function customerTimeline(
  db: Database,
  customerId: string,
  options: { limit: number; cursor?: string | undefined; includeEvents?: boolean },
) {
  const { limit } = options;
  const rows = await executePrepared<TimelineRow>(db, customerTimelineQuery(customerId, options));
  // Items exist only for an existing customer (their foreign key): the customer
  // is looked up only when there are none, so a page costs one round trip.
  if (rows.length === 0) {
    const [customer] = await db
      .select({ id: customers.id })
      .from(customers)
      .where(eq(customers.id, customerId));
    if (!customer) throw notFound('Customer', customerId);
  }
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(toItem),
    nextCursor:
      rows.length > limit && last ? encodeCursor([last.pinned, last.sort_key, last.id]) : null,
  };
}

/**
 * The `perCustomer` most recent items of each of these customers, by activity
 * alone (pins order a single timeline, not a company overview), as SQL
 * (exported so the query-plan test explains exactly this). For each customer
 * each table reads its first `perCustomer` rows from its
 * `*_customer_activity_idx`, so a card costs the same however long the
 * customer's history is.
 */
export function recentItemsQuery(customerIds: string[], perCustomer: number): SQL {
  return sql`
    select recent.*, 0 as pinned, '' as sort_key
    from unnest(${uuidArray(customerIds)}) as card(customer_id)
    cross join lateral (
      select * from (
        (select 'conversation' as type, c.id, c.customer_id, c.subject as title,
                c.channel::text as channel, c.status::text as status, null as klass,
                c.last_activity_at, c.pinned_at
           from conversations c where c.customer_id = card.customer_id
          order by c.last_activity_at desc, c.id desc limit ${perCustomer})
        union all
        (select 'kobject', k.id, k.customer_id, k.title, null, null, kl.name, k.last_activity_at, k.pinned_at
           from (select * from kobjects k where k.customer_id = card.customer_id
                  order by k.last_activity_at desc, k.id desc limit ${perCustomer}) k
           join klasses kl on kl.id = k.klass_id)
      ) both_tables
      order by last_activity_at desc, id desc
      limit ${perCustomer}
    ) recent`;
}

/** The `perCustomer` most recent items of each customer (see `recentItemsQuery`). */
export async function recentItems(db: Queryable, customerIds: string[], perCustomer: number) {
  if (customerIds.length === 0) return new Map<string, TimelineItem[]>();
  const result = await db.execute<TimelineRow>(recentItemsQuery(customerIds, perCustomer));
  const byCustomer = new Map<string, TimelineItem[]>();
  for (const row of result.rows) {
    const items = byCustomer.get(row.customer_id) ?? [];
    items.push(toItem(row));
    byCustomer.set(row.customer_id, items);
  }
  return byCustomer;
}

/** Company timeline: its customers by recent activity, each with conversation counts and recent items. */
export async function companyTimeline(
  db: Queryable,
  companyId: string,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
) {
  const conditions = [eq(customers.companyId, companyId)];
  if (cursor) {
    const [sortKey, id] = decodeCursor(cursor, ['timestamp', 'uuid']);
    conditions.push(
      sql`(${customers.lastActivityAt}, ${customers.id}) < (${sortKey}::timestamptz, ${id}::uuid)`,
    );
  }
  const countOf = (status: string) =>
    // Qualified by hand: Drizzle renders columns unqualified in a single-table select.
    sql<number>`(select count(*)::int from conversations c
      where c.customer_id = customers.id and c.status = ${status})`;
  const rows = await db
    .select({
      id: customers.id,
      name: customers.name,
      lastActivityAt: customers.lastActivityAt,
      open: countOf('open'),
      snoozed: countOf('snoozed'),
      done: countOf('done'),
      sortKey: sql<string>`${customers.lastActivityAt}::text`,
    })
    .from(customers)
    .where(and(...conditions))
    .orderBy(sql`${customers.lastActivityAt} desc`, sql`${customers.id} desc`)
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const recent = await recentItems(
    db,
    page.map((row) => row.id),
    5,
  );
  const last = page.at(-1);
  return {
    items: page.map((row) => ({
      customer: { id: row.id, name: row.name, lastActivityAt: row.lastActivityAt },
      conversationCounts: { open: row.open, snoozed: row.snoozed, done: row.done },
      recentItems: recent.get(row.id) ?? [],
    })),
    nextCursor: rows.length > limit && last ? encodeCursor([last.sortKey, last.id]) : null,
  };
}

/** Pins or unpins a conversation or KObject; pins are shared by everyone. */
export async function setPinned(
  db: Queryable,
  type: 'conversation' | 'kobject',
  id: string,
  pinned: boolean,
  userId: string,
): Promise<void> {
  const table = type === 'conversation' ? conversations : kobjects;
  const values = pinned
    ? { pinnedAt: sql`coalesce(pinned_at, now())`, pinnedBy: userId }
    : { pinnedAt: null, pinnedBy: null };
  const rows = await db
    .update(table)
    .set(values)
    .where(eq(table.id, id))
    .returning({ id: table.id });
  if (rows.length === 0) throw notFound(type === 'conversation' ? 'Conversation' : 'KObject', id);
}

/** How many conversations and KObjects a customer's timeline holds. */
export async function countTimelineItems(db: Queryable, customerId: string) {
  const [[c], [k]] = await Promise.all([
    db.select({ n: count() }).from(conversations).where(eq(conversations.customerId, customerId)),
    db.select({ n: count() }).from(kobjects).where(eq(kobjects.customerId, customerId)),
  ]);
  const counts = { conversations: c?.n ?? 0, kobjects: k?.n ?? 0 };
  return { ...counts, total: counts.conversations + counts.kobjects };
}
