import { eq } from 'drizzle-orm';
import type { Queryable } from '../client';
import { gdprRequests } from '../schema';

export type GdprRequestRow = typeof gdprRequests.$inferSelect;

export async function findGdprRequest(
  db: Queryable,
  id: string,
): Promise<GdprRequestRow | undefined> {
  const [row] = await db.select().from(gdprRequests).where(eq(gdprRequests.id, id));
  return row;
}
