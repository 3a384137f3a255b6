import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { savedSearches } from '../schema';

export type SavedSearchRow = typeof savedSearches.$inferSelect;
type Values = Pick<
  typeof savedSearches.$inferInsert,
  'name' | 'index' | 'query' | 'filters' | 'sort'
>;

/** Saved searches belong to their owner; admins may reach everyone's. */
const visibleTo = (user: { id: string; isAdmin: boolean }) =>
  user.isAdmin ? undefined : eq(savedSearches.ownerId, user.id);

export async function createSavedSearch(
  db: Queryable,
  ownerId: string,
  values: Values,
): Promise<SavedSearchRow> {
  const [row] = await db
    .insert(savedSearches)
    .values({ ...values, ownerId })
    .returning();
  return row!;
}

export const listSavedSearches = (db: Queryable, ownerId: string) =>
  db
    .select()
    .from(savedSearches)
    .where(eq(savedSearches.ownerId, ownerId))
    .orderBy(asc(savedSearches.name));

export async function getSavedSearch(
  db: Queryable,
  id: string,
  user: { id: string; isAdmin: boolean },
): Promise<SavedSearchRow> {
  const [row] = await db
    .select()
    .from(savedSearches)
    .where(and(eq(savedSearches.id, id), visibleTo(user)));
  if (!row) throw notFound('Saved search', id);
  return row;
}

/** A saved search by ID whoever owns it: for showing what a job ran, to someone who may see the job. */
export async function findSavedSearch(db: Queryable, id: string) {
  const [row] = await db.select().from(savedSearches).where(eq(savedSearches.id, id));
  return row;
}

export async function updateSavedSearch(
  db: Queryable,
  id: string,
  user: { id: string; isAdmin: boolean },
  patch: Partial<Values>,
): Promise<SavedSearchRow> {
  const [row] = await db
    .update(savedSearches)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(and(eq(savedSearches.id, id), visibleTo(user)))
    .returning();
  if (!row) throw notFound('Saved search', id);
  return row;
}

export async function deleteSavedSearch(
  db: Queryable,
  id: string,
  user: { id: string; isAdmin: boolean },
) {
  const rows = await db
    .delete(savedSearches)
    .where(and(eq(savedSearches.id, id), visibleTo(user)))
    .returning({ id: savedSearches.id });
  if (rows.length === 0) throw notFound('Saved search', id);
}

/** What a saved search says, for telling whether it identifies someone: its name, query and filter values. */
export async function savedSearchTexts(db: Queryable): Promise<{ id: string; texts: string[] }[]> {
  const rows = await db
    .select({
      id: savedSearches.id,
      name: savedSearches.name,
      query: savedSearches.query,
      filters: savedSearches.filters,
    })
    .from(savedSearches);
  return rows.map((row) => ({
    id: row.id,
    texts: [row.name, row.query, ...Object.values(row.filters).flat()],
  }));
}

/** Deletes these saved searches whoever owns them; returns those it deleted, with their owners. */
export async function removeSavedSearches(
  db: Queryable,
  ids: string[],
): Promise<{ id: string; ownerId: string }[]> {
  if (ids.length === 0) return [];
  return db
    .delete(savedSearches)
    .where(inArray(savedSearches.id, ids))
    .returning({ id: savedSearches.id, ownerId: savedSearches.ownerId });
}
