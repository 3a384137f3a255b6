import { asc, eq, sql } from 'drizzle-orm';
import { DomainError, notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { isForeignKeyViolation, isUniqueViolation } from '../errors';
import { permissionSets, userPermissionSets } from '../schema';

const userCount = sql<number>`(
  select count(*)::int from ${userPermissionSets} ups where ups.permission_set_id = ${permissionSets.id}
)`;

const columns = {
  id: permissionSets.id,
  name: permissionSets.name,
  description: permissionSets.description,
  permissions: permissionSets.permissions,
  createdAt: permissionSets.createdAt,
  updatedAt: permissionSets.updatedAt,
  userCount,
};

export type PermissionSetRow = typeof permissionSets.$inferSelect & { userCount: number };

const nameTaken = () =>
  new DomainError(
    'conflict',
    'PERMISSION_SET_NAME_TAKEN',
    'A permission set has that name already.',
  );

/** The set's name is unique whatever its case and surrounding spaces. */
async function write<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isUniqueViolation(error, 'permission_sets_name_key')) throw nameTaken();
    throw error;
  }
}

export async function createPermissionSet(
  db: Queryable,
  values: { name: string; description?: string | undefined; permissions: readonly string[] },
): Promise<PermissionSetRow> {
  const [row] = await write(() =>
    db
      .insert(permissionSets)
      .values({
        name: values.name.trim(),
        description: values.description ?? '',
        permissions: [...new Set(values.permissions)].sort(),
      })
      .returning({ id: permissionSets.id }),
  );
  return getPermissionSet(db, row!.id);
}

export async function getPermissionSet(db: Queryable, id: string): Promise<PermissionSetRow> {
  const [row] = await db.select(columns).from(permissionSets).where(eq(permissionSets.id, id));
  if (!row) throw notFound('Permission set', id);
  return row;
}

export const listPermissionSets = (db: Queryable) =>
  db
    .select(columns)
    .from(permissionSets)
    .orderBy(asc(sql`lower(${permissionSets.name})`), asc(permissionSets.id));

export async function updatePermissionSet(
  db: Queryable,
  id: string,
  patch: {
    name?: string | undefined;
    description?: string | undefined;
    permissions?: readonly string[] | undefined;
  },
): Promise<PermissionSetRow> {
  const [row] = await write(() =>
    db
      .update(permissionSets)
      .set({
        ...(patch.name === undefined ? {} : { name: patch.name.trim() }),
        ...(patch.description === undefined ? {} : { description: patch.description }),
        ...(patch.permissions === undefined
          ? {}
          : { permissions: [...new Set(patch.permissions)].sort() }),
        updatedAt: sql`now()`,
      })
      .where(eq(permissionSets.id, id))
      .returning({ id: permissionSets.id }),
  );
  if (!row) throw notFound('Permission set', id);
  return getPermissionSet(db, id);
}

/** A set some user still holds is not deleted: take it from them first. */
export async function deletePermissionSet(db: Queryable, id: string): Promise<void> {
  const inUse = () =>
    new DomainError(
      'conflict',
      'PERMISSION_SET_IN_USE',
      'Users hold this permission set; take it from them first.',
    );
  try {
    const [held] = await db
      .select({ count: sql<number>`count(*)::int` })
      .from(userPermissionSets)
      .where(eq(userPermissionSets.permissionSetId, id));
    if (held!.count > 0) {
      throw new DomainError(
        'conflict',
        'PERMISSION_SET_IN_USE',
        `${held!.count} user(s) hold this permission set; take it from them first.`,
        { userCount: held!.count },
      );
    }
    const deleted = await db
      .delete(permissionSets)
      .where(eq(permissionSets.id, id))
      .returning({ id: permissionSets.id });
    if (deleted.length === 0) throw notFound('Permission set', id);
  } catch (error) {
    // Given to a user between the count and the delete: the foreign key refuses.
    if (isForeignKeyViolation(error)) throw inUse();
    throw error;
  }
}
