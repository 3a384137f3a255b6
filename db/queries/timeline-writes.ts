import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../client';
import type { searchOutbox } from '../schema';
import { wakeSearchSync } from './search-outbox';

type Entity = (typeof searchOutbox.$inferInsert)['entity'];

/**
 * Adds a new item to a customer's timeline in one statement, so the whole
 * write is one round trip and needs no transaction of its own (it must not
 * run inside one: it wakes the outbox as if its statement had committed):
 *
 * - `customer` moves the customer's last activity forward to `at`. It is the
 *   statement's only lock on an existing row (`FOR NO KEY UPDATE`, as
 *   `touchCustomer` takes), so writes to one customer queue on it and cannot
 *   deadlock; the item's foreign-key check only takes `KEY SHARE` on the same
 *   row, which that lock already covers.
 * - `steps` insert the item and whatever comes with it. They must read the
 *   customer from `customer` and end in a CTE named `item` that returns the
 *   new item's `id`; when the customer is unknown (or `guard` is false)
 *   `customer` is empty, so every step inserts nothing.
 * - `queued` writes the search outbox rows: the item, and the customer when
 *   its last activity moved (an imported item older than the customer's last
 *   activity changes nothing to re-index); the outbox is woken after the
 *   commit by `wakeSearchSync`, not by a NOTIFY in the statement.
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
  const result = await db.execute<Row>(sql`
    with ${lookups ? sql`${lookups}, ` : sql``}customer as (
      update customers set last_activity_at = greatest(last_activity_at, ${at})
      where id = ${customerId} and ${guard}
      returning id, last_activity_at = ${at} as moved
    ), ${steps}, queued as (
      insert into search_outbox (entity, entity_id)
      select 'customer', id from customer where moved
      union all
      select ${entity}, id from item
    )
    select ${returning} from item`);
  const row = result.rows[0];
  if (row) wakeSearchSync(db);
  return row as Row | undefined;
}
