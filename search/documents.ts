/**
 * Search documents, built from Postgres. Every change to the index goes
 * through `projectEntities`: it reads the current rows and upserts those that
 * exist and removes those that do not, so applying it twice does no harm.
 */
import { sql } from 'drizzle-orm';
import type { EnqueuedTaskPromise, Meilisearch } from 'meilisearch';
import type { Queryable } from '../db/client';
import { uuidArray } from '../db/sql';
import { activeAttributeRules } from '../db/queries/attribute-definitions';
import { indexValue, type AttributeRule } from '../domain/attributes';
import type { EmailAddress, PhoneNumber, SocialHandle } from '../domain/contacts';
import { keyDigits, phoneKey } from '../domain/phones';
import { waitForSearchTasks } from './client';
import { indexOfEntity, indexUid, searchEntities, type SearchEntity } from './indexes';

export interface CustomerDocument {
  id: string;
  name: string;
  emails: string[];
  phones: string[];
  /**
   * Phone numbers in their E.164 form as bare digits (domain/phones.ts), the
   * form a phone-like query is turned into: "+44 20 7946 0958", "020 7946 0958"
   * (default region GB) and "442079460958" find the same customer.
   */
  phoneKeys: string[];
  socialHandles: string[];
  externalId: string | null;
  companyId: string | null;
  companyName: string | null;
  /** Filterable custom attributes by name, typed for comparison (dates as epoch milliseconds). */
  attributes: Record<string, string | number | boolean | string[]>;
  /** The values of searchable custom attributes, as texts. */
  attributeTexts: string[];
  lastActivityAt: number;
  createdAt: number;
}

export interface ConversationDocument {
  id: string;
  subject: string;
  channel: string;
  status: string;
  customerId: string;
  customerName: string;
  companyId: string | null;
  lastActivityAt: number;
  createdAt: number;
}

export interface KObjectDocument {
  id: string;
  title: string;
  klass: string;
  customerId: string;
  customerName: string;
  companyId: string | null;
  lastActivityAt: number;
  createdAt: number;
}

export type SearchDocument = CustomerDocument | ConversationDocument | KObjectDocument;

const preferredFirst = <T extends { preferred: boolean }>(items: T[]) =>
  [...items].sort((a, b) => Number(b.preferred) - Number(a.preferred));

/** `where` selects rows of the entity's table, aliased c (customers), v (conversations) or k (kobjects). */
const queries = {
  customer: (where: ReturnType<typeof sql>) => sql`
    select c.id, c.name, c.emails, c.phones, c.social_handles, c.external_id, c.company_id,
           co.name as company_name, c.custom_attributes, c.last_activity_at, c.created_at
    from customers c left join companies co on co.id = c.company_id
    where ${where} order by c.id`,
  conversation: (where: ReturnType<typeof sql>) => sql`
    select v.id, v.subject, v.channel, v.status, v.customer_id, cu.name as customer_name, cu.company_id,
           v.last_activity_at, v.created_at
    from conversations v join customers cu on cu.id = v.customer_id
    where ${where} order by v.id`,
  kobject: (where: ReturnType<typeof sql>) => sql`
    select k.id, k.title, kl.name as klass, k.customer_id, cu.name as customer_name, cu.company_id,
           k.last_activity_at, k.created_at
    from kobjects k join klasses kl on kl.id = k.klass_id join customers cu on cu.id = k.customer_id
    where ${where} order by k.id`,
};

const alias: Record<SearchEntity, string> = { customer: 'c', conversation: 'v', kobject: 'k' };

type Row = Record<string, unknown>;
const millis = (value: unknown) => new Date(value as string).getTime();

/** The attribute definitions a customer document is built with: only defined, shown attributes enter the index. */
export type IndexedAttributes = (AttributeRule & { searchable: boolean; filterable: boolean })[];

/**
 * A customer's attributes as its document holds them: filterable ones typed
 * under `attributes`, searchable ones as texts. Attributes neither searchable
 * nor filterable (and values that do not fit their definition) stay in
 * Postgres: the index holds no more personal data than search needs.
 */
export function attributeFields(
  stored: Record<string, unknown>,
  rules: IndexedAttributes,
): Pick<CustomerDocument, 'attributes' | 'attributeTexts'> {
  const attributes: CustomerDocument['attributes'] = {};
  const attributeTexts: string[] = [];
  for (const rule of rules) {
    if (!Object.hasOwn(stored, rule.name)) continue;
    const value = indexValue(rule, stored[rule.name]);
    if (value === undefined) continue;
    if (rule.filterable) attributes[rule.name] = value;
    if (rule.searchable && rule.type !== 'boolean') {
      const raw = stored[rule.name];
      attributeTexts.push(...(Array.isArray(raw) ? (raw as string[]) : [String(raw)]));
    }
  }
  return { attributes, attributeTexts };
}

function toDocument(entity: SearchEntity, row: Row, rules: IndexedAttributes): SearchDocument {
  switch (entity) {
    case 'customer': {
      const phones = preferredFirst(row.phones as PhoneNumber[]);
      return {
        id: row.id as string,
        name: row.name as string,
        emails: preferredFirst(row.emails as EmailAddress[]).map((e) => e.address),
        phones: phones.map((p) => p.number),
        phoneKeys: phones.map((p) => keyDigits(phoneKey(p))),
        socialHandles: (row.social_handles as SocialHandle[]).map((s) => s.handle),
        externalId: row.external_id as string | null,
        companyId: row.company_id as string | null,
        companyName: row.company_name as string | null,
        ...attributeFields((row.custom_attributes ?? {}) as Record<string, unknown>, rules),
        lastActivityAt: millis(row.last_activity_at),
        createdAt: millis(row.created_at),
      };
    }
    case 'conversation':
      return {
        id: row.id as string,
        subject: row.subject as string,
        channel: row.channel as string,
        status: row.status as string,
        customerId: row.customer_id as string,
        customerName: row.customer_name as string,
        companyId: row.company_id as string | null,
        lastActivityAt: millis(row.last_activity_at),
        createdAt: millis(row.created_at),
      };
    case 'kobject':
      return {
        id: row.id as string,
        title: row.title as string,
        klass: row.klass as string,
        customerId: row.customer_id as string,
        customerName: row.customer_name as string,
        companyId: row.company_id as string | null,
        lastActivityAt: millis(row.last_activity_at),
        createdAt: millis(row.created_at),
      };
  }
}

export async function loadDocuments(
  db: Queryable,
  entity: SearchEntity,
  ids: string[],
): Promise<SearchDocument[]> {
  if (ids.length === 0) return [];
  const result = await db.execute<Row>(
    queries[entity](sql`${sql.raw(alias[entity])}.id = any(${uuidArray(ids)})`),
  );
  const rules = entity === 'customer' ? await activeAttributeRules(db, 'customer') : [];
  return result.rows.map((row) => toDocument(entity, row, rules));
}

/** The column each filterable document attribute is read from, in the queries above. */
const attributeColumns: Record<SearchEntity, Record<string, string>> = {
  customer: { companyId: 'c.company_id' },
  conversation: {
    companyId: 'cu.company_id',
    customerId: 'v.customer_id',
    status: 'v.status',
    channel: 'v.channel',
  },
  kobject: { companyId: 'cu.company_id', customerId: 'k.customer_id', klass: 'kl.name' },
};

/**
 * A page of documents in ID order after `afterId`, for rebuilding an index or
 * reading every object a search may match. `equal` keeps only documents whose
 * attributes hold these values (compared as text; attributes without a
 * column here are not narrowed, so a caller that needs them exact checks them).
 */
export async function loadDocumentPage(
  db: Queryable,
  entity: SearchEntity,
  afterId: string | null,
  limit: number,
  equal: Record<string, string> = {},
): Promise<SearchDocument[]> {
  const conditions = [
    afterId ? sql`${sql.raw(alias[entity])}.id > ${afterId}::uuid` : sql`true`,
    ...Object.entries(equal).flatMap(([attribute, value]) => {
      const column = Object.hasOwn(attributeColumns[entity], attribute)
        ? attributeColumns[entity][attribute]
        : undefined;
      return column ? [sql`lower(${sql.raw(column)}::text) = ${value.toLowerCase()}`] : [];
    }),
  ];
  const where = sql.join(conditions, sql` and `);
  const result = await db.execute<Row>(sql`${queries[entity](where)} limit ${limit}`);
  const rules = entity === 'customer' ? await activeAttributeRules(db, 'customer') : [];
  return result.rows.map((row) => toDocument(entity, row, rules));
}

/** What bringing some entities in line with Postgres takes, read from Postgres and not yet sent. */
export interface Projection {
  upserts: Record<SearchEntity, SearchDocument[]>;
  removals: Record<SearchEntity, string[]>;
}

export const emptyProjection = (): Projection => ({
  upserts: { customer: [], conversation: [], kobject: [] },
  removals: { customer: [], conversation: [], kobject: [] },
});

/**
 * Reads these IDs' current rows into `projection`: documents to upsert for
 * those that exist, removals for those that do not.
 */
export async function planProjection(
  db: Queryable,
  projection: Projection,
  entity: SearchEntity,
  ids: string[],
): Promise<Projection> {
  const unique = [...new Set(ids)];
  const documents = await loadDocuments(db, entity, unique);
  const present = new Set(documents.map((d) => d.id));
  projection.upserts[entity].push(...documents);
  projection.removals[entity].push(...unique.filter((id) => !present.has(id)));
  return projection;
}

/**
 * Submits a projection's Meilisearch tasks one after another, without waiting
 * for any, grouped by index so Meilisearch can batch them; returns the tasks
 * to wait for. Upserts go before the removals by filter: an item is upserted
 * only while its customer exists, so the order changes nothing but the batching.
 */
export function submitProjection(
  meili: Meilisearch,
  prefix: string,
  { upserts, removals }: Projection,
): EnqueuedTaskPromise[] {
  const tasks: EnqueuedTaskPromise[] = [];
  // A customer that is gone takes the documents still filed under it: an
  // erasure enqueues only the customer, not each of its items.
  const goneCustomers = removals.customer.map((id) => JSON.stringify(id)).join(', ');
  for (const entity of searchEntities) {
    const index = meili.index(indexUid(prefix, indexOfEntity[entity]));
    if (upserts[entity].length > 0)
      tasks.push(index.addDocuments(upserts[entity], { primaryKey: 'id' }));
    if (removals[entity].length > 0) tasks.push(index.deleteDocuments(removals[entity]));
    if (entity !== 'customer' && goneCustomers)
      tasks.push(index.deleteDocuments({ filter: `customerId IN [${goneCustomers}]` }));
  }
  return tasks;
}

/** Brings the index in line with Postgres for these IDs and waits until Meilisearch has applied it. */
export async function projectEntities(
  db: Queryable,
  meili: Meilisearch,
  prefix: string,
  entity: SearchEntity,
  ids: string[],
): Promise<{ upserted: number; removed: number }> {
  const projection = await planProjection(db, emptyProjection(), entity, ids);
  await waitForSearchTasks(meili, submitProjection(meili, prefix, projection));
  return {
    upserted: projection.upserts[entity].length,
    removed: projection.removals[entity].length,
  };
}
