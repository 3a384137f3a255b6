import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { DomainError, notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { isUniqueViolation } from '../errors';
import { apiKeys, users } from '../schema';

export type UserRow = typeof users.$inferSelect;

export async function createUser(
  db: Queryable,
  values: {
    name: string;
    email: string;
    isAdmin?: boolean | undefined;
    permissions?: string[] | undefined;
  },
): Promise<UserRow> {
  try {
    const [row] = await db
      .insert(users)
      .values({
        ...values,
        email: values.email.trim().toLowerCase(),
        permissions: [...new Set(values.permissions ?? [])],
      })
      .returning();
    return row!;
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
  const [row] = await db.select().from(users).where(eq(users.id, id));
  if (!row) throw notFound('User', id);
  return row;
}

/** Changes a user's name, admin flag or permission set (replaced as a whole). */
export async function updateUser(
  db: Queryable,
  id: string,
  patch: {
    name?: string | undefined;
    isAdmin?: boolean | undefined;
    permissions?: string[] | undefined;
  },
): Promise<UserRow> {
  const [row] = await db
    .update(users)
    .set({
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.isAdmin === undefined ? {} : { isAdmin: patch.isAdmin }),
      ...(patch.permissions === undefined ? {} : { permissions: [...new Set(patch.permissions)] }),
    })
    .where(eq(users.id, id))
    .returning();
  if (!row) throw notFound('User', id);
  return row;
}

export const listUsers = (db: Queryable) =>
  db.select().from(users).orderBy(asc(users.createdAt), asc(users.id));

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
