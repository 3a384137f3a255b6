import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { DomainError, notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { isUniqueViolation } from '../errors';
import { apiKeys, permissionSets, userPermissionSets, users } from '../schema';

/**
 * The outer query's user, written out: Drizzle leaves a column unqualified in
 * a one-table select, and inside these subqueries a bare "id" would be the
 * permission set's.
 */
const outerUserId = sql.raw('"users"."id"');

/**
 * A user's permissions: the union of their permission sets' (admins hold all
 * regardless, lib/permissions.ts). One expression, so the key check, the user
 * view and "who may be told" agree; it reads the `users` row of the query it is
 * part of.
 */
export const userPermissions = () =>
  sql<string[]>`coalesce((
    select array_agg(distinct granted order by granted)
    from ${userPermissionSets} ups
    join ${permissionSets} ps on ps.id = ups.permission_set_id
    cross join unnest(ps.permissions) as granted
    where ups.user_id = ${outerUserId}
  ), '{}'::text[])`;

const userPermissionSetList = () =>
  sql<{ id: string; name: string }[]>`coalesce((
    select json_agg(json_build_object('id', ps.id, 'name', ps.name) order by lower(ps.name), ps.id)
    from ${userPermissionSets} ups
    join ${permissionSets} ps on ps.id = ups.permission_set_id
    where ups.user_id = ${outerUserId}
  ), '[]'::json)`;

const userColumns = {
  id: users.id,
  name: users.name,
  email: users.email,
  isAdmin: users.isAdmin,
  createdAt: users.createdAt,
  permissionSets: userPermissionSetList(),
  permissions: userPermissions(),
};

export type UserRow = typeof users.$inferSelect & {
  permissionSets: { id: string; name: string }[];
  permissions: string[];
};

/** Replaces a user's permission sets; the caller holds the user's row lock. */
async function assignPermissionSets(db: Queryable, userId: string, setIds: readonly string[]) {
  const unique = [...new Set(setIds.map((id) => id.toLowerCase()))];
  if (unique.length > 0) {
    const found = await db
      .select({ id: permissionSets.id })
      .from(permissionSets)
      .where(inArray(permissionSets.id, unique))
      .for('key share');
    const missing = unique.filter((id) => !found.some((row) => row.id === id));
    if (missing.length > 0) {
      throw new DomainError(
        'unprocessable',
        'PERMISSION_SET_NOT_FOUND',
        `No permission set has the ID ${missing[0]}.`,
        { ids: missing },
      );
    }
  }
  await db.delete(userPermissionSets).where(eq(userPermissionSets.userId, userId));
  if (unique.length > 0) {
    await db
      .insert(userPermissionSets)
      .values(unique.map((permissionSetId) => ({ userId, permissionSetId })));
  }
}

export async function createUser(
  db: Queryable,
  values: {
    name: string;
    email: string;
    isAdmin?: boolean | undefined;
    permissionSetIds?: readonly string[] | undefined;
  },
): Promise<UserRow> {
  try {
    const id = await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(users)
        .values({
          name: values.name,
          email: values.email.trim().toLowerCase(),
          isAdmin: values.isAdmin ?? false,
        })
        .returning({ id: users.id });
      await assignPermissionSets(tx, row!.id, values.permissionSetIds ?? []);
      return row!.id;
    });
    return await getUser(db, id);
  } catch (error) {
    if (isUniqueViolation(error, 'users_email_unique')) {
      throw new DomainError(
        'conflict',
        'USER_EMAIL_TAKEN',
        'A user with that email already exists.',
      );
    }
    throw error;
  }
}

export async function getUser(db: Queryable, id: string): Promise<UserRow> {
  const [row] = await db.select(userColumns).from(users).where(eq(users.id, id));
  if (!row) throw notFound('User', id);
  return row;
}

/** Changes a user's name, admin flag or permission sets (replaced as a whole). */
export async function updateUser(
  db: Queryable,
  id: string,
  patch: {
    name?: string | undefined;
    isAdmin?: boolean | undefined;
    permissionSetIds?: readonly string[] | undefined;
  },
): Promise<UserRow> {
  await db.transaction(async (tx) => {
    // The row lock orders parallel changes of one user: the last one's sets win whole.
    const [row] = await tx
      .select({ id: users.id })
      .from(users)
      .where(eq(users.id, id))
      .for('update');
    if (!row) throw notFound('User', id);
    if (patch.name !== undefined || patch.isAdmin !== undefined) {
      await tx
        .update(users)
        .set({
          ...(patch.name === undefined ? {} : { name: patch.name }),
          ...(patch.isAdmin === undefined ? {} : { isAdmin: patch.isAdmin }),
        })
        .where(eq(users.id, id));
    }
    if (patch.permissionSetIds) await assignPermissionSets(tx, id, patch.permissionSetIds);
  });
  return getUser(db, id);
}

export const listUsers = (db: Queryable) =>
  db.select(userColumns).from(users).orderBy(asc(users.createdAt), asc(users.id));

export const listApiKeys = (db: Queryable, userId: string) =>
  db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      createdAt: apiKeys.createdAt,
      lastUsedAt: apiKeys.lastUsedAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.userId, userId))
    .orderBy(asc(apiKeys.createdAt));

/** Revoking twice is harmless; revoking a key that is not the user's is a 404. */
export async function revokeApiKey(db: Queryable, userId: string, keyId: string): Promise<void> {
  const [key] = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.userId, userId)));
  if (!key) throw notFound('API key', keyId);
  await db
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)));
}
