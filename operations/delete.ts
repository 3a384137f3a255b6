/**
 * Deletion: customers, conversations and KObjects, one at a time or a batch
 * of a bulk erasure. Every copy of the data goes in the same transaction:
 * the rows (and what cascades from them), merge redirects that lead to an
 * erased customer, job previews and in-app notifications that name it, saved
 * searches that identify it (each audited, its owner told), its export archives, and — through the
 * outbox — its search documents. Audit entries and reporting aggregates stay:
 * they hold IDs and counts only.
 */
import { sql, type SQL } from 'drizzle-orm';
import { recordDeletionEvents } from '../db/queries/webhooks';
import type { Queryable, Transaction } from '../db/client';
import { audit } from '../db/queries/audit';
import { deleteMergeJournalsOf } from '../db/queries/merge-journals';
import { recomputeLastActivity } from '../db/queries/customers';
import { addInAppNotifications } from '../db/queries/notifications';
import { removeSavedSearches, savedSearchTexts } from '../db/queries/saved-searches';
import { enqueueSearchSync } from '../db/queries/search-outbox';
import type { EmailAddress, PhoneNumber, SocialHandle } from '../domain/contacts';
import { IdentifierIndex, identifierKinds, type IdentifierKind } from '../domain/identifiers';
import { phoneKey, type PhoneRegion } from '../domain/phones';
import { DomainError, notFound } from '../lib/errors';
import { deleteExportsOf } from './exports';
import { closeAccessRequestsOf, forgetDeclineNotes } from './gdpr-requests';
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
  countsByObject?: Record<string, ObjectErasureRecord>;
}

/**
 * What erasing one customer removed, by place, and the kinds of identifier
 * that saved searches were checked for (`identifierKindsChecked`).
 */
export type ObjectErasureRecord = Record<string, number | readonly IdentifierKind[]>;

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
  const isLocked = new Set(locked);
  const rest = ids.filter((id) => !isLocked.has(id));
  const existing = new Set(
    rest.length
      ? await idsOf(
          tx,
          sql`select id from ${sql.identifier(table)} where id = any(${uuidArray(rest)})`,
        )
      : [],
  );
  return { locked, busy: [...existing], missing: rest.filter((id) => !existing.has(id)) };
}

/**
 * Job previews that show data of these objects lose their preview, and the
 * in-app notifications about those jobs go with it. Parameters (IDs only) stay.
 * The jobs are found by the IDs their records mention (`job_mentions`), not
 * by reading every job's preview.
 */
async function scrubJobRecords(tx: Transaction, ids: string[]) {
  if (ids.length === 0) return { jobRecords: 0, notifications: 0 };
  const scrubbed = await idsOf(
    tx,
    sql`update jobs set preview = '{"erased": true}'::jsonb, updated_at = now()
        where id in (select job_id from job_mentions where object_id = any(${uuidArray(ids)}))
          and preview is not null and preview <> '{"erased": true}'::jsonb
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

/** What an in-app notice about a removed saved search says: IDs only, never what it searched for. */
const savedSearchRemovedNotice = (savedSearchId: string, jobId: string) => ({
  noticeKey: `saved-search-removed:${savedSearchId}`,
  kind: 'saved_search_removed',
  title: 'A saved search of yours was removed',
  body:
    `Your saved search ${savedSearchId} was removed because it identified a person who was erased ` +
    `(job ${jobId}).`,
});

/**
 * Saved searches that identify one of these customers — their name, query or
 * a filter value holds one of the customer's full identifiers as whole words
 * (domain/identifiers.ts) — whoever owns them. Each one removed is audited
 * and its owner told in-app; a search that shares only a part ("example.com",
 * a surname) stays. Reads the customers' rows, so call it before they go.
 */
async function removeSavedSearchesIdentifying(
  tx: Transaction,
  customerIds: SQL,
  actor: Actor,
  phoneRegion: PhoneRegion,
): Promise<number> {
  const people = await tx.execute<{
    name: string;
    emails: EmailAddress[];
    phones: PhoneNumber[];
    social_handles: SocialHandle[];
    websites: string[];
    external_id: string | null;
  }>(sql`select name, emails, phones, social_handles, websites, external_id
         from customers where id = any(${customerIds})`);
  const identifiers = new IdentifierIndex(
    people.rows.map((row) => ({
      name: row.name,
      emails: row.emails.map((e) => e.address),
      phones: row.phones.map(phoneKey),
      socialHandles: row.social_handles.map((s) => s.handle),
      websites: row.websites,
      externalId: row.external_id,
    })),
    phoneRegion,
  );
  const identifying = new Map<string, IdentifierKind>();
  for (const search of await savedSearchTexts(tx)) {
    for (const text of search.texts) {
      const kind = identifiers.identifiedIn(text);
      if (kind) {
        identifying.set(search.id, kind);
        break;
      }
    }
  }
  const removed = await removeSavedSearches(tx, [...identifying.keys()]);
  await audit(
    tx,
    removed.map(({ id }) => ({
      actorUserId: actor.userId,
      action: 'saved_search.deleted',
      objectType: 'saved_search',
      objectId: id,
      jobId: actor.jobId,
      details: { reason: 'identified_erased_person', identifierKind: identifying.get(id) },
    })),
  );
  await addInAppNotifications(
    tx,
    removed.map(({ id, ownerId }) => ({
      userId: ownerId,
      ...savedSearchRemovedNotice(id, actor.jobId),
    })),
  );
  return removed.length;
}

/**
 * Audits the erasure of these customers and of every conversation and KObject
 * filed under them, and counts what each one holds, in one statement: nothing
 * but the counts travels to the caller (a batch of thousands of customers
 * owns tens of thousands of items).
 */
type CustomerHoldings = {
  id: string;
  conversations: number;
  kobjects: number;
  messages: number;
  events: number;
};

async function auditAndCountCustomers(
  tx: Transaction,
  customerIds: SQL,
  actor: Actor,
): Promise<CustomerHoldings[]> {
  const entry = (type: string) =>
    sql`${actor.userId}::uuid, ${`${type}.deleted`}, ${type}, id, ${actor.jobId}::uuid`;
  const result = await tx.execute<CustomerHoldings>(sql`
    with owned as (select unnest(${customerIds}) as id),
    conv as (select id, customer_id from conversations where customer_id = any(${customerIds})),
    kobj as (select id, customer_id from kobjects where customer_id = any(${customerIds})),
    audited as (
      insert into audit_log (actor_user_id, action, object_type, object_id, job_id)
      select ${entry('customer')} from owned
      union all select ${entry('conversation')} from conv
      union all select ${entry('kobject')} from kobj
    )
    select o.id,
      coalesce(c.n, 0) as conversations, coalesce(k.n, 0) as kobjects,
      coalesce(m.n, 0) as messages, coalesce(e.n, 0) as events
    from owned o
    left join (select customer_id, count(*)::int as n from conv group by 1) c on c.customer_id = o.id
    left join (select customer_id, count(*)::int as n from kobj group by 1) k on k.customer_id = o.id
    left join (
      -- = any(array(...)) keeps the lookup on the messages index; a plain join hashes the whole table.
      select v.customer_id, count(*)::int as n from messages m join conv v on v.id = m.conversation_id
      where m.conversation_id = any(array(select id from conv)) group by 1) m on m.customer_id = o.id
    left join (
      select customer_id, count(*)::int as n from engagement_events
      where customer_id = any(${customerIds}) group by 1) e on e.customer_id = o.id`);
  return result.rows;
}

async function eraseCustomers(
  tx: Transaction,
  ids: string[],
  actor: Actor,
  { wait, phoneRegion }: EraseOptions,
): Promise<ErasureOutcome> {
  const { locked, missing, busy } = await lockRows(tx, 'customers', ids, wait);
  const counts: Record<string, number> = { customers: locked.length };
  if (locked.length === 0) return { erased: [], missing, busy, counts };
  const owned = uuidArray(locked);

  const countsByObject: Record<string, Record<string, number>> = {};
  for (const row of await auditAndCountCustomers(tx, owned, actor)) {
    countsByObject[row.id] = {
      customers: 1,
      conversations: row.conversations,
      messages: row.messages,
      kobjects: row.kobjects,
      // Engagement events go by the cascade too; the count is the erasure record's proof.
      events: row.events,
      // The customer's document and the documents of everything filed under it.
      searchDocuments: 1 + row.conversations + row.kobjects,
    };
  }
  const total = (place: string) =>
    Object.values(countsByObject).reduce((sum, object) => sum + (object[place] ?? 0), 0);
  for (const place of ['conversations', 'kobjects', 'events', 'messages'])
    counts[place] = total(place);

  // Customers merged into these since: a merge of A into B previewed A's items, and after B
  // merged into C those items are C's (a redirect from A leads to C).
  const mergedIn = await idsOf(
    tx,
    sql`select source_customer_id as id from merge_redirects where target_customer_id = any(${owned})`,
  );
  Object.assign(counts, await scrubJobRecords(tx, [...locked, ...mergedIn]));
  counts.savedSearches = await removeSavedSearchesIdentifying(tx, owned, actor, phoneRegion);
  // Notes the compliance team kept with declined requests about these customers.
  counts.gdprNotes = await forgetDeclineNotes(tx, locked);
  // Open access requests of these customers can no longer be answered: closed, so no archive is made.
  // (Not a place data was erased from, so not counted: the audit log names each one.)
  await closeAccessRequestsOf(tx, locked, actor);
  // Export archives of these customers (and of customers merged into them): before the redirects go.
  const archives = await deleteExportsOf(tx, locked);
  for (const [id, record] of Object.entries(countsByObject))
    record.exportArchives = archives[id] ?? 0;
  counts.exportArchives = total('exportArchives');
  // Merge journals hold the customers as they were: they go with either side of the merge.
  counts.mergeJournals = await deleteMergeJournalsOf(tx, locked);
  counts.redirects = await countOf(
    tx,
    sql`with gone as (delete from merge_redirects where target_customer_id = any(${owned}) returning 1)
        select count(*) as n from gone`,
  );
  // Conversations, messages, KObjects (and their pins) and events cascade from the customer.
  await tx.execute(sql`delete from customers where id = any(${owned})`);
  // Removing a customer's document removes every document filed under it (search/documents.ts).
  await enqueueSearchSync(tx, 'customer', locked);
  counts.searchDocuments = total('searchDocuments');
  const records: Record<string, ObjectErasureRecord> = {};
  for (const [id, record] of Object.entries(countsByObject))
    records[id] = { ...record, identifierKindsChecked: identifierKinds };
  return { erased: locked, missing, busy, counts, countsByObject: records };
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

export interface EraseOptions {
  wait: boolean;
  /** Where a phone number written in a saved search without its country code is read. */
  phoneRegion: PhoneRegion;
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
  options: EraseOptions,
): Promise<ErasureOutcome> {
  return entity === 'customer'
    ? eraseCustomers(tx, ids, actor, options)
    : eraseItems(tx, entity, ids, actor, options.wait);
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

/** The job whose audit entry says it deleted this object, if one did. */
async function deletionOf(
  db: Queryable,
  entity: DeletableEntity,
  id: string,
): Promise<{ jobId: string | null } | undefined> {
  const result = await db.execute<{ job_id: string | null }>(
    sql`select job_id from audit_log
        where object_type = ${entity} and object_id = ${id} and action = ${`${entity}.deleted`}
        order by id limit 1`,
  );
  const row = result.rows[0];
  return row && { jobId: row.job_id };
}

export interface DeleteResult {
  counts: Record<string, number>;
  /** For a customer: the kinds of identifier saved searches were checked for. */
  identifierKindsChecked?: readonly IdentifierKind[];
  /** The job that had deleted the object already, when this one found it gone. */
  erasedBy?: string;
}

/**
 * Executes a single deletion job (confirmed by its request) in one
 * transaction; a retry returns what the first attempt committed. An object
 * another job deleted first (a DELETE sent at the same time) is gone as
 * asked: the job ends done with `alreadyDeleted`, naming that job.
 */
export function executeDelete(
  db: Queryable,
  jobId: string,
  { phoneRegion }: { phoneRegion: PhoneRegion },
): Promise<DeleteResult> {
  return executeConfirmed<DeleteParams, DeleteResult>(
    db,
    jobId,
    async (tx, params, _preview, job) => {
      const outcome = await eraseObjects(
        tx,
        params.entity,
        [params.id],
        { userId: job.startedBy, jobId },
        { wait: true, phoneRegion },
      );
      await recordDeletionEvents(tx, params.entity, outcome.erased, jobId);
      if (outcome.erased.length === 0) {
        const deletion = await deletionOf(tx, params.entity, params.id);
        if (!deletion) throw await missingObjectError(tx, params.entity, params.id);
        return {
          counts: { alreadyDeleted: 1 },
          ...(deletion.jobId ? { erasedBy: deletion.jobId } : {}),
        };
      }
      return {
        counts: outcome.counts,
        ...(params.entity === 'customer' ? { identifierKindsChecked: identifierKinds } : {}),
      };
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
