import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../client';
import { apiKeys, users } from '../schema';
import { userPermissions } from './users';

const KEY_PREFIX = 'cust_';
const KEY_PATTERN = /^cust_[A-Za-z0-9_-]{43}$/;

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

export const looksLikeApiKey = (key: string) => KEY_PATTERN.test(key);

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Stores a key's hash and shows the key once, to the caller of this function. */
export async function issueApiKey(
  db: Queryable,
  userId: string,
  name: string,
  key = generateApiKey(),
) {
  if (!looksLikeApiKey(key))
    throw new Error('an API key must look like cust_ followed by 43 base64url characters');
  const [row] = await db
    .insert(apiKeys)
    .values({ userId, name, prefix: key.slice(0, 12), hash: hashApiKey(key) })
    .returning({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      createdAt: apiKeys.createdAt,
    });
  return { ...row!, key };
}

export async function findUserByApiKey(db: Queryable, key: string) {
  const [row] = await db
    .select({
      keyId: apiKeys.id,
      id: users.id,
      name: users.name,
      isAdmin: users.isAdmin,
      permissions: userPermissions(),
      stale: sql<boolean>`${apiKeys.lastUsedAt} is null or ${apiKeys.lastUsedAt} < now() - interval '1 minute'`,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(and(eq(apiKeys.hash, hashApiKey(key)), isNull(apiKeys.revokedAt)));
  if (!row) return undefined;
  // Written at most once a minute per key: most requests cost one read, no write.
  if (row.stale)
    await db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now()` })
      .where(
        and(
          eq(apiKeys.id, row.keyId),
          or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - interval '1 minute'`)),
        ),
      );
  const { keyId: _keyId, stale: _stale, ...user } = row;
  return user;
}
