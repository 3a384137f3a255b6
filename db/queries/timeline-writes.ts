import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../client';
import { executePrepared } from '../sql';
import type { searchOutbox } from '../schema';
import { wakeSearchSync } from './search-outbox';

type Entity = (typeof searchOutbox.$inferInsert)['entity'];

/**
 * Adds a new item to a customer's timeline in one statement, so the whole
 * write is one round trip and needs no transaction of its own (it must not
 * run inside one: it wakes the outbox as if its statement had committed); the
 * statement is prepared once per connection (`executePrepared`):
 *
 * - `customer` locks the customer row `FOR KEY SHARE` and reads, on the
 *   version it locked, whether `at` is later than its last activity. Creates
 *   share that lock, so creates on one customer queue on each other only for
 *   the update below; it conflicts only with `FOR UPDATE` (which deleting the
 *   row or changing a key column also takes), and merges, splits, moves and
 *   deletes take that (`lockCustomers`, `lockRows`) before they touch or
 *   recompute the customer's items. Either such a job locked first and the create waits
 *   for its commit, or the create did and the job waits for the create's
 *   commit: a job that recomputes the last activity always sees the new item.
 * - `touched` takes the row update (`FOR NO KEY UPDATE`) only when the locked
 *   version is behind `at`. Its `set` uses `greatest` over the row that
 *   Postgres re-reads for a concurrently updated row (READ COMMITTED
 *   EvalPlanQual): two creates that both saw it behind leave the later time,
 *   whichever commits first. The decision must come from `customer`, not from
 *   `last_activity_at < at` on the updated row: the update first reads the row
 *   as of the statement's snapshot, which predates a split or move that
 *   committed while this create waited for its lock and moved the last
 *   activity back; an update filtered on that stale version skips the row
 *   without ever re-reading it, and the customer would end behind its newest
 *   item. The price: a create that saw the row behind takes the row lock even
 *   when a create racing it has meanwhile moved it past `at` (a no-op update).
 * - Neither lock can deadlock. `KEY SHARE` → `NO KEY UPDATE` is an upgrade
 *   that does not conflict with the other creates' `KEY SHARE`, so an
 *   upgrading create waits only for a create that holds the update and waits
 *   for nothing (unlike `FOR SHARE` → `UPDATE`); and Postgres lets a
 *   transaction that already holds a weaker row lock upgrade without queuing
 *   behind a `FOR UPDATE` that waits for that very lock. A create waiting for
 *   a job's `FOR UPDATE` holds no lock on an existing row. The item's
 *   foreign-key check needs only the `KEY SHARE` already held.
 * - `steps` insert the item and whatever comes with it. They must read the
 *   customer from `customer` and end in a CTE named `item` that returns the
 *   new item's `id`; when the customer is unknown (or `guard` is false)
 *   `customer` is empty, so every step inserts nothing.
 * - `queued` writes the search outbox rows: the item, and the customer when
 *   `touched` left its last activity at `at` (an imported item older than the
 *   customer's last activity changes nothing to re-index; a racing create that
 *   got there first with the same time costs one re-index too many); the outbox is woken
 *   after the commit by `wakeSearchSync`, not by a NOTIFY in the statement.
 *
 * `lookups` are CTEs read before the customer is locked (a klass by name);
 * `guard` may test them. Returns `returning`'s columns of `item`, or
 * undefined when nothing was written.
 */
export async function addToTimeline<Row extends Record<string, unknown>>(
  db: Database,
  {
    customerId,
    at,
    lookups,
    guard = sql`true`,
    steps,
    entity,
    returning,
  }: {
    customerId: string;
    /** The item's last activity: a timestamptz expression. */
    at: SQL;
    lookups?: SQL;
    /** A condition the write needs besides the customer; it may read `lookups`. */
    guard?: SQL;
    steps: SQL;
    entity: Entity;
    returning: SQL;
  },
): Promise<Row | undefined> {
  const [row] = await executePrepared<Row>(
    db,
    sql`
    with ${lookups ? sql`${lookups}, ` : sql``}customer as (
      select id, last_activity_at < ${at} as behind from customers
      where id = ${customerId} and ${guard}
      for key share
    ), touched as (
      update customers set last_activity_at = greatest(customers.last_activity_at, ${at})
      from customer
      where customers.id = customer.id and customer.behind
      returning customers.id, customers.last_activity_at = ${at} as moved
    ), ${steps}, queued as (
      insert into search_outbox (entity, entity_id)
      select 'customer', id from touched where moved
      union all
      select ${entity}, id from item
    )
    select ${returning} from item`,
  );
  if (row) wakeSearchSync(db);
  return row;
}
