import { sql } from 'drizzle-orm';
import type { Database, Queryable } from '../client';
import type { searchOutbox } from '../schema';
import { uuidArray } from '../sql';

export const SEARCH_OUTBOX_CHANNEL = 'custodian_search_outbox';
/** Notified by the sync loop when it has marked rows processed, so waiting jobs look again at once. */
export const SEARCH_DRAINED_CHANNEL = 'custodian_search_drained';

type Entity = (typeof searchOutbox.$inferInsert)['entity'];

/**
 * Records, in the caller's transaction, that these entities must be brought up
 * to date in the search index, and wakes the worker's sync loop on commit.
 */
export async function enqueueSearchSync(
  db: Queryable,
  entity: Entity,
  ids: string[],
): Promise<void> {
  if (ids.length === 0) return;
  // One round trip: timeline writes call this while they hold their customer's row lock.
  // One array parameter: building a 500-row VALUES list cost a merge ~20 ms in the worker.
  await db.execute(sql`
    with queued as (
      insert into search_outbox (entity, entity_id) select ${entity}, unnest(${uuidArray(ids)})
    )
    select pg_notify(${SEARCH_OUTBOX_CHANNEL}, '')`);
}

const wakes = new WeakMap<Database, { running: boolean; again: boolean }>();

/**
 * Wakes the worker's sync loop after a write that committed outbox rows on its
 * own, outside a transaction. A NOTIFY makes its transaction take a
 * database-wide lock at commit, so one in every write would queue all writers'
 * commits behind each other; instead each process keeps at most one wake-up in
 * flight and sends one more when writes committed while it ran, so every
 * commit is followed by a NOTIFY that started after it. A wake-up lost to a
 * crash costs the loop's idle poll (a second).
 */
export function wakeSearchSync(db: Database): void {
  let state = wakes.get(db);
  if (!state) {
    state = { running: false, again: false };
    wakes.set(db, state);
  }
  if (state.running) {
    state.again = true;
    return;
  }
  const wake = state;
  wake.running = true;
  const send = (): void => {
    wake.again = false;
    db.execute(sql`select pg_notify(${SEARCH_OUTBOX_CHANNEL}, '')`).then(sent, sent);
  };
  const sent = (): void => {
    if (wake.again) send();
    else wake.running = false;
  };
  send();
}

/** A customer's conversations and KObjects carry its name and company in their documents. */
export async function enqueueCustomerItems(db: Queryable, customerId: string): Promise<void> {
  await db.execute(sql`
    insert into search_outbox (entity, entity_id)
    select 'conversation', id from conversations where customer_id = ${customerId}
    union all
    select 'kobject', id from kobjects where customer_id = ${customerId}`);
  await db.execute(sql`select pg_notify(${SEARCH_OUTBOX_CHANNEL}, '')`);
}

/** Customer documents carry their company's name. */
export async function enqueueCompanyCustomers(db: Queryable, companyId: string): Promise<void> {
  await db.execute(sql`
    insert into search_outbox (entity, entity_id)
    select 'customer', id from customers where company_id = ${companyId}`);
  await db.execute(sql`select pg_notify(${SEARCH_OUTBOX_CHANNEL}, '')`);
}

/** The newest outbox row this session can see: a committed change is indexed once the outbox has drained up to it. */
export async function lastOutboxId(db: Queryable): Promise<number> {
  const result = await db.execute<{ id: string | null }>(
    sql`select max(id) as id from search_outbox`,
  );
  return Number(result.rows[0]?.id ?? 0);
}

/** Whether any outbox row up to `id` still waits for the search index. */
export async function outboxPendingUpTo(db: Queryable, id: number): Promise<boolean> {
  const result = await db.execute<{ pending: boolean }>(sql`
    select exists (
      select 1 from search_outbox where processed_at is null and id <= ${id}
    ) as pending`);
  return result.rows[0]?.pending ?? false;
}
