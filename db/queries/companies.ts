import { asc, eq, sql } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { DomainError, notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { isUniqueViolation } from '../errors';
import { checkAttributeWrite, lockStoredAttributes } from './attribute-definitions';
import { enqueueCompanyCustomers } from './search-outbox';
import { companies } from '../schema';

export type CompanyRow = typeof companies.$inferSelect;

export async function createCompany(
  db: Queryable,
  values: { name: string; customAttributes?: Record<string, unknown> | undefined },
): Promise<CompanyRow> {
  try {
    return await db.transaction(async (tx) => {
      await checkAttributeWrite(tx, 'company', values.customAttributes);
      const [row] = await tx
        .insert(companies)
        .values({ name: values.name.trim(), customAttributes: values.customAttributes ?? {} })
        .returning();
      return row!;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'companies_name_key')) {
      throw new DomainError(
        'conflict',
        'COMPANY_NAME_TAKEN',
        `A company named "${values.name.trim()}" already exists.`,
      );
    }
    throw error;
  }
}

export async function getCompany(db: Queryable, id: string): Promise<CompanyRow> {
  const [row] = await db.select().from(companies).where(eq(companies.id, id));
  if (!row) throw notFound('Company', id);
  return row;
}

/** The plain list: by name whatever its case, then by ID, keyset-paged on the unique name index. */
export async function listCompanies(
  db: Queryable,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
) {
  const sortName = sql<string>`lower(btrim(${companies.name}))`;
  const after = cursor ? decodeCursor(cursor, ['text', 'uuid']) : undefined;
  const rows = await db
    .select({ company: companies, sortName })
    .from(companies)
    .where(after && sql`(${sortName}, ${companies.id}) > (${after[0]}, ${after[1]}::uuid)`)
    .orderBy(sortName, asc(companies.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => row.company),
    nextCursor: rows.length > limit && last ? encodeCursor([last.sortName, last.company.id]) : null,
  };
}

/**
 * How many matches a name search pages through, best first. A relevance order
 * has no stable key to page on, so pages are offsets into this many; past them
 * a match is too weak to be what anyone looked for.
 */
export const MAX_NAME_MATCHES = 100;

/**
 * Companies whose name is like `q`, best first: the exact name (as the unique
 * index compares names), then by trigram similarity of the whole name plus
 * that of its closest words, then names that start with `q`, then by name.
 *
 * A name matches when a run of its words is similar to `q`: `q <% name`, word
 * similarity at least pg_trgm's `word_similarity_threshold` (0.6 unless the
 * server says otherwise). That forgives a typo in a word, finds a name from
 * one of its words, and matches a name half typed (`acm` is 0.75 similar to
 * the start of `acme …`). It is the only condition, so a search reads the
 * trigram index once: a whole-name `%` and a prefix LIKE, OR-ed in, matched
 * almost nothing more (word similarity is never below whole-name similarity)
 * and cost one more pass over the index each (bench/company-search.ts).
 */
export function matchCompanyNames(
  db: Queryable,
  q: string,
  { limit, offset = 0 }: { limit: number; offset?: number },
) {
  const key = sql`lower(${q.trim()})`;
  const name = sql`lower(${companies.name})`;
  return db
    .select()
    .from(companies)
    .where(sql`${key} <% ${name}`)
    .orderBy(
      sql`lower(btrim(${companies.name})) = ${key} desc`,
      sql`similarity(${name}, ${key}) + word_similarity(${key}, ${name}) desc`,
      sql`starts_with(${name}, ${key}) desc`,
      sql`lower(btrim(${companies.name}))`,
      asc(companies.id),
    )
    .limit(limit)
    .offset(offset);
}

/** One page of a name search; the cursor is the offset of the next page within MAX_NAME_MATCHES. */
export async function searchCompaniesByName(
  db: Queryable,
  q: string,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
) {
  const offset = cursor ? decodeCursor(cursor, ['integer'])[0] : 0;
  const take = Math.min(limit, MAX_NAME_MATCHES - offset);
  if (take <= 0) return { items: [], nextCursor: null };
  const rows = await matchCompanyNames(db, q, { limit: take + 1, offset });
  const items = rows.slice(0, take);
  const next = offset + items.length;
  return {
    items,
    nextCursor: rows.length > take && next < MAX_NAME_MATCHES ? encodeCursor([next]) : null,
  };
}

export async function updateCompany(
  db: Queryable,
  id: string,
  patch: { name?: string | undefined; customAttributes?: Record<string, unknown> | undefined },
): Promise<CompanyRow> {
  try {
    return await db.transaction(async (tx) => {
      await checkAttributeWrite(tx, 'company', patch.customAttributes, () =>
        lockStoredAttributes(tx, 'company', id),
      );
      const [row] = await tx
        .update(companies)
        .set({
          ...patch,
          ...(patch.name ? { name: patch.name.trim() } : {}),
          updatedAt: sql`now()`,
        })
        .where(eq(companies.id, id))
        .returning();
      if (!row) throw notFound('Company', id);
      if (patch.name !== undefined) await enqueueCompanyCustomers(tx, id);
      return row;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'companies_name_key')) {
      throw new DomainError(
        'conflict',
        'COMPANY_NAME_TAKEN',
        `A company named "${patch.name?.trim()}" already exists.`,
      );
    }
    throw error;
  }
}

/** A customer's company given by name: the one so named, or a new one when `create` says so. */
export interface CompanyByName {
  name: string;
  create: boolean;
}

/** How many near names a refusal of an unknown company name offers. */
const NEAR_CANDIDATES = 5;

/**
 * The company named `name` as the unique index compares names (case and
 * surrounding spaces aside). The index allows one such company at most, so an
 * exact name is never ambiguous, and a near name is never taken for it: with
 * no exact match the refusal lists the nearest names for the caller to choose
 * from, or, with `create`, the company is made in the caller's transaction.
 * Parallel creators of one new name all end with the same company: the index
 * makes every insert but the first wait for it to commit and then do nothing,
 * and the next statement's snapshot sees the row that won.
 */
export async function resolveCompanyName(
  db: Queryable,
  { name, create }: CompanyByName,
): Promise<CompanyRow> {
  const trimmed = name.trim();
  const named = async () => {
    const [row] = await db
      .select()
      .from(companies)
      .where(sql`lower(btrim(${companies.name})) = lower(btrim(${trimmed}))`);
    return row;
  };
  const existing = await named();
  if (existing) return existing;
  if (create) {
    const [inserted] = await db
      .insert(companies)
      .values({ name: trimmed })
      .onConflictDoNothing()
      .returning();
    const row = inserted ?? (await named());
    if (row) return row;
  }
  const near = await matchCompanyNames(db, trimmed, { limit: NEAR_CANDIDATES });
  throw new DomainError(
    'unprocessable',
    'COMPANY_NOT_FOUND',
    `No company is named "${trimmed}"${near.length > 0 ? '; did you mean one of `candidates`?' : ''} ` +
      'Send createCompany: true to create it.',
    { candidates: near.map(({ id, name }) => ({ id, name })) },
  );
}
