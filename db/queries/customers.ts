import { inArray, and, desc, eq, sql } from 'drizzle-orm';
import { uuidArray } from '../sql';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { DomainError, notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { isUniqueViolation } from '../errors';
import { checkAttributeWrite, lockStoredAttributes } from './attribute-definitions';
import { latestEventAt } from './events';
import { resolveCompanyName, type CompanyByName } from './companies';
import { enqueueCustomerItems, enqueueSearchSync } from './search-outbox';
import { companies, customers, mergeRedirects } from '../schema';
import { recordWebhookEvent } from './webhooks';

export type CustomerRow = typeof customers.$inferSelect;
export type NewCustomer = Omit<
  typeof customers.$inferInsert,
  'id' | 'createdAt' | 'updatedAt' | 'lastActivityAt'
>;

const externalIdTaken = (externalId: string) =>
  new DomainError(
    'conflict',
    'EXTERNAL_ID_TAKEN',
    `Another customer already has the external ID "${externalId}".`,
  );

async function assertCompanyExists(
  db: Queryable,
  companyId: string | null | undefined,
): Promise<void> {
  if (!companyId) return;
  const [company] = await db
    .select({ id: companies.id })
    .from(companies)
    .where(eq(companies.id, companyId));
  if (!company) {
    throw new DomainError(
      'unprocessable',
      'COMPANY_NOT_FOUND',
      `No company has the ID ${companyId}.`,
      {
        companyId,
      },
    );
  }
}

/**
 * Creates a customer; `companyByName` (instead of `values.companyId`) finds or
 * makes its company in the same transaction, so a refused customer leaves no
 * company behind.
 */
export async function createCustomer(
  db: Queryable,
  values: NewCustomer,
  companyByName?: CompanyByName,
): Promise<CustomerRow> {
  if (!companyByName) await assertCompanyExists(db, values.companyId);
  try {
    return await db.transaction(async (tx) => {
      const companyId = companyByName
        ? (await resolveCompanyName(tx, companyByName)).id
        : values.companyId;
      await checkAttributeWrite(tx, 'customer', values.customAttributes);
      const [row] = await tx
        .insert(customers)
        .values({ ...values, companyId })
        .returning();
      await enqueueSearchSync(tx, 'customer', [row!.id]);
      await recordWebhookEvent(tx, 'customer.created', { customerId: row!.id });
      return row!;
    });
  } catch (error) {
    if (values.externalId && isUniqueViolation(error, 'customers_external_id_unique')) {
      throw externalIdTaken(values.externalId);
    }
    throw error;
  }
}

export async function findCustomer(db: Queryable, id: string): Promise<CustomerRow | undefined> {
  const [row] = await db.select().from(customers).where(eq(customers.id, id));
  return row;
}

export async function getCustomer(db: Queryable, id: string): Promise<CustomerRow> {
  const row = await findCustomer(db, id);
  if (!row) throw notFound('Customer', id);
  return row;
}

/**
 * Where a merged-away customer ID leads now, or undefined if it never merged.
 * A merge re-points older redirects at its survivor, so one hop is the whole chain.
 */
export async function resolveMergedCustomer(
  db: Queryable,
  id: string,
): Promise<string | undefined> {
  const [row] = await db
    .select({ target: mergeRedirects.targetCustomerId })
    .from(mergeRedirects)
    .where(eq(mergeRedirects.sourceCustomerId, id));
  return row?.target;
}

/** Updates a customer; `companyByName` as in `createCustomer`. */
export async function updateCustomer(
  db: Queryable,
  id: string,
  values: Partial<NewCustomer>,
  companyByName?: CompanyByName,
): Promise<CustomerRow> {
  if (!companyByName) await assertCompanyExists(db, values.companyId);
  try {
    return await db.transaction(async (tx) => {
      // The company first, then the customer's row lock: creators of a company wait on
      // each other's insert while holding no customer, so two of them never wait in a circle.
      const patch = companyByName
        ? { ...values, companyId: (await resolveCompanyName(tx, companyByName)).id }
        : values;
      await checkAttributeWrite(tx, 'customer', patch.customAttributes, () =>
        lockStoredAttributes(tx, 'customer', id),
      );
      const [row] = await tx
        .update(customers)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(customers.id, id))
        .returning();
      if (!row) throw notFound('Customer', id);
      await enqueueSearchSync(tx, 'customer', [id]);
      if (patch.name !== undefined || patch.companyId !== undefined)
        await enqueueCustomerItems(tx, id);
      await recordWebhookEvent(tx, 'customer.updated', { customerId: id });
      return row;
    });
  } catch (error) {
    if (values.externalId && isUniqueViolation(error, 'customers_external_id_unique')) {
      throw externalIdTaken(values.externalId);
    }
    throw error;
  }
}

/**
 * Moves a customer's last activity forward, never back, and then re-indexes
 * the customer (its search document sorts by last activity); fails if it is gone.
 * The update takes the row lock (FOR NO KEY UPDATE) that changing the row
 * needs, so take it first (here or with `lockCustomerForWrite`), before
 * touching the customer's items: writes to one customer then queue here
 * instead of deadlocking, as they would if each held FOR SHARE and then asked
 * for this one. Merges, splits and moves (FOR UPDATE) wait for it, and it for
 * them; both lock the customer before its items. (Creates hold only FOR KEY
 * SHARE and take this lock when the last activity moves, an upgrade no other
 * key-share holder blocks: see `addToTimeline`. A message or status change
 * nearly always moves it, so its writers lock for the update up front.)
 */
export async function touchCustomer(
  db: Queryable,
  customerId: string,
  at: Date | undefined = undefined,
): Promise<void> {
  const when = at ? sql`${at.toISOString()}::timestamptz` : sql`now()`;
  const [touched] = await db
    .update(customers)
    .set({ lastActivityAt: sql`greatest(${customers.lastActivityAt}, ${when})` })
    .where(eq(customers.id, customerId))
    .returning({ moved: sql<boolean>`${customers.lastActivityAt} = ${when}` });
  if (!touched) throw notFound('Customer', customerId);
  // An imported item older than the customer's last activity changes nothing to re-index.
  if (touched.moved) await enqueueSearchSync(db, 'customer', [customerId]);
}

/**
 * Takes the lock `touchCustomer` takes, for a write that must read something
 * first; false when the customer is gone.
 */
export async function lockCustomerForWrite(db: Queryable, customerId: string): Promise<boolean> {
  const rows = await db
    .select({ id: customers.id })
    .from(customers)
    .where(eq(customers.id, customerId))
    .for('no key update');
  return rows.length > 0;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Newest customers first, keyset-paginated. */
export async function listCustomers(
  db: Queryable,
  {
    limit,
    cursor,
    companyId,
  }: { limit: number; cursor?: string | undefined; companyId?: string | undefined },
): Promise<Page<CustomerRow>> {
  const conditions = [];
  if (companyId) conditions.push(eq(customers.companyId, companyId));
  if (cursor) {
    const [createdAt, id] = decodeCursor(cursor, ['timestamp', 'uuid']);
    conditions.push(
      sql`(${customers.createdAt}, ${customers.id}) < (${createdAt}::timestamptz, ${id}::uuid)`,
    );
  }
  const rows = await db
    .select({ customer: customers, sortKey: sql<string>`${customers.createdAt}::text` })
    .from(customers)
    .where(and(...conditions))
    .orderBy(desc(customers.createdAt), desc(customers.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => row.customer),
    nextCursor: rows.length > limit && last ? encodeCursor([last.sortKey, last.customer.id]) : null,
  };
}

interface DirectoryOptions {
  companyId: string;
  onlyWithOpenConversations: boolean;
  limit: number;
  cursor?: string | undefined;
}

/**
 * One page of a company's directory as a query (exported so the query-plan
 * test explains exactly this): a range of `customers_company_name_idx` after
 * the cursor's `(lower(name), id)`, so a deep page costs what the first does.
 */
export function companyDirectoryQuery(
  db: Queryable,
  { companyId, onlyWithOpenConversations, limit, cursor }: DirectoryOptions,
) {
  // Qualified by hand: Drizzle renders columns unqualified in a single-table select.
  const openCount = sql<number>`(
    select count(*)::int from conversations c where c.customer_id = customers.id and c.status = 'open')`;
  const conditions = [eq(customers.companyId, companyId)];
  if (onlyWithOpenConversations) {
    conditions.push(
      sql`exists (select 1 from conversations c where c.customer_id = customers.id and c.status = 'open')`,
    );
  }
  if (cursor) {
    const [name, id] = decodeCursor(cursor, ['text', 'uuid']);
    conditions.push(sql`(lower(${customers.name}), ${customers.id}) > (${name}, ${id}::uuid)`);
  }
  return db
    .select({
      id: customers.id,
      name: customers.name,
      lastActivityAt: customers.lastActivityAt,
      openConversations: openCount,
      sortName: sql<string>`lower(${customers.name})`,
    })
    .from(customers)
    .where(and(...conditions))
    .orderBy(sql`lower(${customers.name})`, customers.id)
    .limit(limit + 1);
}

/** A company's customers by name, optionally only those with an open conversation. */
export async function listCompanyDirectory(db: Queryable, options: DirectoryOptions) {
  const rows = await companyDirectoryQuery(db, options);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ sortName: _sortName, ...row }) => row),
    nextCursor: rows.length > options.limit && last ? encodeCursor([last.sortName, last.id]) : null,
  };
}

/** Refuses CUSTOMER_NOT_FOUND for the first of `ids` that does not exist. */
export async function assertCustomersExist(db: Queryable, ids: string[]): Promise<void> {
  const rows = await db
    .select({ id: customers.id })
    .from(customers)
    .where(inArray(customers.id, ids));
  for (const id of ids) if (!rows.some((r) => r.id === id)) throw notFound('Customer', id);
}

/**
 * A customer's last activity is that of its most recent item or event (or its creation
 * when none is left): after a move it is worked out again for both customers.
 */
export async function recomputeLastActivity(db: Queryable, customerIds: string[]): Promise<void> {
  if (customerIds.length === 0) return;
  // One statement for all of them: a bulk erasure of conversations may touch thousands.
  await db.execute(sql`
    update customers c set last_activity_at = greatest(
      c.created_at,
      (select max(last_activity_at) from conversations where customer_id = c.id),
      (select max(last_activity_at) from kobjects where customer_id = c.id),
      ${latestEventAt(sql`c.id`)})
    where c.id = any(${uuidArray(customerIds)})`);
}
