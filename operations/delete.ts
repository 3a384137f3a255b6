/**
 * Deletion: customers, conversations and KObjects, one at a time or a batch
 * of a bulk erasure. Every copy of the data goes in the same transaction:
 * the rows (and what cascades from them), merge redirects that lead to an
 * erased customer, job previews and in-app notifications that name it, saved
 * searches that spell it out, and — through the outbox — its search
 * documents. Audit entries and reporting aggregates stay: they hold IDs and
 * counts only.
 */
import { sql } from 'drizzle-orm';
import type { Queryable, Transaction } from '../db/client';
import { audit } from '../db/queries/audit';
import { recomputeLastActivity } from '../db/queries/customers';
import { enqueueSearchSync } from '../db/queries/search-outbox';
import type { EmailAddress, PhoneNumber } from '../domain/contacts';
import { DomainError, notFound } from '../lib/errors';
import { forgetDeclineNotes } from './gdpr-requests';
import { executeConfirmed } from './job-steps';
import { uuidArray } from '../db/sql';

export const deletableEntities = ['customer', 'conversation', 'kobject'] as const;
export type DeletableEntity = (typeof deletableEntities)[number];

export interface Actor {
  userId: string | null;
  jobId: string;
}

export interface ErasureOutcome {
  /** Deleted by this call. */
  erased: string[];
  /** Not there (never were, or already deleted): nothing left to erase. */
  missing: string[];
  /** Locked by another transaction; only when the caller does not wait for locks. */
  busy: string[];
  /** Rows and records removed, by where they were. */
  counts: Record<string, number>;
  /**
   * For customers: what was erased of each one, by place (its own rows and
   * search documents), the proof a GDPR request that a bulk erasure fulfilled
   * keeps. Records shared by many customers are only in `counts`.
   */
  countsByObject?: Record<string, Record<string, number>>;
}

const textArray = (values: string[]) =>
  sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;

async function idsOf(db: Queryable, query: ReturnType<typeof sql>): Promise<string[]> {
  const result = await db.execute<{ id: string }>(query);
  return result.rows.map((row) => row.id);
}

async function countOf(db: Queryable, query: ReturnType<typeof sql>): Promise<number> {
  const result = await db.execute<{ n: string }>(query);
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * Locks the rows of `table` among `ids` in ID order: waiting for other
 * transactions, or skipping the rows they hold (reported as busy).
 */
async function lockRows(
  tx: Transaction,
  table: 'customers' | 'conversations' | 'kobjects',
  ids: string[],
  wait: boolean,
): Promise<{ locked: string[]; missing: string[]; busy: string[] }> {
  const locked = await idsOf(
    tx,
    sql`select id from ${sql.identifier(table)} where id = any(${uuidArray(ids)})
        order by id for update ${wait ? sql`` : sql`skip locked`}`,
  );
  const rest = ids.filter((id) => !locked.includes(id));
  const existing = rest.length
    ? await idsOf(
        tx,
        sql`select id from ${sql.identifier(table)} where id = any(${uuidArray(rest)})`,
      )
    : [];
  return { locked, busy: existing, missing: rest.filter((id) => !existing.includes(id)) };
}

/**
 * Job previews that show data of these objects lose their preview, and the
 * in-app notifications about those jobs go with it. Parameters (IDs only) stay.
 */
async function scrubJobRecords(tx: Transaction, ids: string[]) {
  if (ids.length === 0) return { jobRecords: 0, notifications: 0 };
  const patterns = ids.map((id) => `%${id}%`);
  const scrubbed = await idsOf(
    tx,
    sql`update jobs set preview = '{"erased": true}'::jsonb, updated_at = now()
        where preview is not null and preview <> '{"erased": true}'::jsonb
          and (params::text like any(${textArray(patterns)}) or preview::text like any(${textArray(patterns)}))
        returning id`,
  );
  const notifications = scrubbed.length
    ? await countOf(
        tx,
        sql`with gone as (delete from notifications where job_id = any(${uuidArray(scrubbed)}) returning 1)
            select count(*) as n from gone`,
      )
    : 0;
  return { jobRecords: scrubbed.length, notifications };
}

/** Saved searches whose query spells out one of these names, emails, phones or external IDs. */
async function deleteSavedSearchesNaming(tx: Transaction, terms: string[]): Promise<number> {
  const usable = [
    ...new Set(terms.map((t) => t.trim().toLowerCase()).filter((t) => t.length >= 3)),
  ];
  if (usable.length === 0) return 0;
  return countOf(
    tx,
    sql`with gone as (
          delete from saved_searches s where s.query <> '' and exists (
            select 1 from unnest(${textArray(usable)}) t
            where strpos(lower(s.query), t) > 0 or (length(s.query) >= 4 and strpos(t, lower(s.query)) > 0))
          returning 1)
        select count(*) as n from gone`,
  );
}

async function eraseCustomers(
  tx: Transaction,
  ids: string[],
  actor: Actor,
  wait: boolean,
): Promise<ErasureOutcome> {
  const { locked, missing, busy } = await lockRows(tx, 'customers', ids, wait);
  const counts: Record<string, number> = { customers: locked.length };
  if (locked.length === 0) return { erased: [], missing, busy, counts };
  const owned = uuidArray(locked);

  const profiles = await tx.execute<{
    name: string;
    emails: EmailAddress[];
    phones: PhoneNumber[];
    external_id: string | null;
  }>(sql`select name, emails, phones, external_id from customers where id = any(${owned})`);
  // Set-based, one statement per table (a subquery per customer cost ~1 s per batch of 500).
  const owners = await tx.execute<{ id: string; customer_id: string; kind: string }>(sql`
    select id, customer_id, 'conversations' as kind from conversations where customer_id = any(${owned})
    union all
    select id, customer_id, 'kobjects' from kobjects where customer_id = any(${owned})
    order by 3, 1`);
  const grouped = await tx.execute<{ customer_id: string; kind: string; n: number }>(sql`
    select customer_id, 'events' as kind, count(*)::int as n from engagement_events
      where customer_id = any(${owned}) group by customer_id
    union all
    select c.customer_id, 'messages', count(*)::int from messages m
      join conversations c on c.id = m.conversation_id
      where c.customer_id = any(${owned}) group by c.customer_id`);
  const countsByObject: Record<string, Record<string, number>> = {};
  for (const id of locked) {
    countsByObject[id] = {
      customers: 1,
      conversations: 0,
      messages: 0,
      kobjects: 0,
      // Engagement events go by the cascade too; the count is the erasure record's proof.
      events: 0,
      searchDocuments: 1,
    };
  }
  for (const row of owners.rows) {
    countsByObject[row.customer_id]![row.kind]! += 1;
    countsByObject[row.customer_id]!.searchDocuments! += 1;
  }
  for (const row of grouped.rows) countsByObject[row.customer_id]![row.kind] = row.n;
  const conversationIds = owners.rows
    .filter((row) => row.kind === 'conversations')
    .map((row) => row.id);
  const kobjectIds = owners.rows.filter((row) => row.kind === 'kobjects').map((row) => row.id);
  const total = (place: string) =>
    Object.values(countsByObject).reduce((sum, object) => sum + (object[place] ?? 0), 0);
  counts.conversations = conversationIds.length;
  counts.kobjects = kobjectIds.length;
  counts.events = total('events');
  counts.messages = total('messages');

  Object.assign(counts, await scrubJobRecords(tx, locked));
  counts.savedSearches = await deleteSavedSearchesNaming(
    tx,
    profiles.rows.flatMap((p) => [
      p.name,
      ...p.emails.map((e) => e.address),
      ...p.phones.map((n) => n.number),
      ...(p.external_id ? [p.external_id] : []),
    ]),
  );
  // Notes the compliance team kept with declined requests about these customers.
  counts.gdprNotes = await forgetDeclineNotes(tx, locked);
  counts.redirects = await countOf(
    tx,
    sql`with gone as (delete from merge_redirects where target_customer_id = any(${owned}) returning 1)
        select count(*) as n from gone`,
  );
  // Conversations, messages, KObjects (and their pins) and events cascade from the customer.
  await tx.execute(sql`delete from customers where id = any(${owned})`);

  const entry = (objectType: string, objectId: string) => ({
    actorUserId: actor.userId,
    action: `${objectType}.deleted`,
    objectType,
    objectId,
    jobId: actor.jobId,
  });
  await audit(tx, [
    ...locked.map((id) => entry('customer', id)),
    ...conversationIds.map((id) => entry('conversation', id)),
    ...kobjectIds.map((id) => entry('kobject', id)),
  ]);
  // Removing a customer's document removes every document filed under it (search/documents.ts).
  await enqueueSearchSync(tx, 'customer', locked);
  counts.searchDocuments = total('searchDocuments');
  return { erased: locked, missing, busy, counts, countsByObject };
}

/** Conversations and KObjects: their owners are locked first, as every write does. */
async function eraseItems(
  tx: Transaction,
  entity: 'conversation' | 'kobject',
  ids: string[],
  actor: Actor,
  wait: boolean,
): Promise<ErasureOutcome> {
  const table = entity === 'conversation' ? 'conversations' : 'kobjects';
  const owners = await idsOf(
    tx,
    sql`select distinct customer_id as id from ${sql.identifier(table)} where id = any(${uuidArray(ids)})`,
  );
  const lockedOwners = (await lockRows(tx, 'customers', owners, wait)).locked;
  // Only items whose owner is locked now: an item that moved meanwhile is tried again later.
  const { locked, missing, busy } = await lockRows(tx, table, ids, wait);
  const owned = await idsOf(
    tx,
    sql`select id from ${sql.identifier(table)}
        where id = any(${uuidArray(locked)}) and customer_id = any(${uuidArray(lockedOwners)})`,
  );
  const held = [...busy, ...locked.filter((id) => !owned.includes(id))];
  const counts: Record<string, number> = { [table]: owned.length };
  if (owned.length === 0) return { erased: [], missing, busy: held, counts };
  const these = uuidArray(owned);
  if (entity === 'conversation') {
    counts.messages = await countOf(
      tx,
      sql`select count(*) as n from messages where conversation_id = any(${these})`,
    );
  }
  Object.assign(counts, await scrubJobRecords(tx, owned));
  const touchedOwners = await idsOf(
    tx,
    sql`delete from ${sql.identifier(table)} where id = any(${these}) returning customer_id as id`,
  );
  const customerIds = [...new Set(touchedOwners)];
  await recomputeLastActivity(tx, customerIds);
  await audit(
    tx,
    owned.map((id) => ({
      actorUserId: actor.userId,
      action: `${entity}.deleted`,
      objectType: entity,
      objectId: id,
      jobId: actor.jobId,
    })),
  );
  await enqueueSearchSync(tx, entity, owned);
  await enqueueSearchSync(tx, 'customer', customerIds);
  counts.searchDocuments = owned.length;
  return { erased: owned, missing, busy: held, counts };
}

/**
 * Erases these objects in the caller's transaction. With `wait`, it queues
 * behind other jobs holding them (a single delete); without, it leaves them
 * as busy for a later try (a bulk batch must not stall on one object).
 */
export function eraseObjects(
  tx: Transaction,
  entity: DeletableEntity,
  ids: string[],
  actor: Actor,
  { wait }: { wait: boolean },
): Promise<ErasureOutcome> {
  return entity === 'customer'
    ? eraseCustomers(tx, ids, actor, wait)
    : eraseItems(tx, entity, ids, actor, wait);
}

/** Why an object asked for by ID cannot be deleted: it does not exist, or it merged into another. */
export async function missingObjectError(
  db: Queryable,
  entity: DeletableEntity,
  id: string,
): Promise<DomainError> {
  if (entity === 'customer') {
    const survivor = await idsOf(
      db,
      sql`select target_customer_id as id from merge_redirects where source_customer_id = ${id}`,
    );
    if (survivor[0]) {
      return new DomainError(
        'conflict',
        'CUSTOMER_MERGED',
        `Customer ${id} was merged into ${survivor[0]}; delete that customer instead.`,
        { id, mergedInto: survivor[0] },
      );
    }
  }
  return notFound(entity === 'kobject' ? 'KObject' : entity, id);
}

export interface DeleteParams {
  entity: DeletableEntity;
  id: string;
}

/**
 * Executes a single deletion job (confirmed by its request) in one
 * transaction; a retry returns what the first attempt committed.
 */
export function executeDelete(
  db: Queryable,
  jobId: string,
): Promise<{ counts: Record<string, number> }> {
  return executeConfirmed<DeleteParams, { counts: Record<string, number> }>(
    db,
    jobId,
    async (tx, params, _preview, job) => {
      const outcome = await eraseObjects(
        tx,
        params.entity,
        [params.id],
        { userId: job.startedBy, jobId },
        { wait: true },
      );
      if (outcome.erased.length === 0) throw await missingObjectError(tx, params.entity, params.id);
      return { counts: outcome.counts };
    },
    ['pending'],
  );
}

/** The customer an object belongs to (the customer itself for a customer), or undefined if it does not exist. */
export async function ownerOf(
  db: Queryable,
  entity: DeletableEntity,
  id: string,
): Promise<string | undefined> {
  const table = { customer: 'customers', conversation: 'conversations', kobject: 'kobjects' }[
    entity
  ];
  const column = entity === 'customer' ? sql`id` : sql`customer_id`;
  const [owner] = await idsOf(
    db,
    sql`select ${column} as id from ${sql.identifier(table)} where id = ${id}`,
  );
  return owner;
}

/** Deleting is irreversible, so the request must spell it out. */
export function assertConfirmed(body: unknown): void {
  const confirm = (body as { confirm?: unknown } | null | undefined)?.confirm;
  if (confirm !== 'DELETE') {
    throw new DomainError(
      'unprocessable',
      'CONFIRMATION_REQUIRED',
      'Deleting is permanent: send {"confirm": "DELETE"} to confirm it.',
    );
  }
}
