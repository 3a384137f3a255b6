import { eq } from 'drizzle-orm';
import type { Queryable } from '../client';
import { apiKeys, users } from '../schema';
import { hashApiKey, issueApiKey } from './api-keys';

export const ADMIN_EMAIL = 'admin@custodian.local';

/**
 * Makes sure the admin user exists and that `key` opens it. Running it again
 * with the same key changes nothing, so the admin key is stable across restarts.
 */
export async function ensureAdmin(db: Queryable, key: string): Promise<{ userId: string }> {
  const [admin] = await db
    .insert(users)
    .values({ name: 'Admin', email: ADMIN_EMAIL, isAdmin: true })
    .onConflictDoUpdate({ target: users.email, set: { isAdmin: true } })
    .returning({ id: users.id });
  const [existing] = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(eq(apiKeys.hash, hashApiKey(key)));
  if (!existing) await issueApiKey(db, admin!.id, 'admin (seeded by npm run dev)', key);
  return { userId: admin!.id };
}
