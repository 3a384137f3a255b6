import { and, asc, between, eq, sql } from 'drizzle-orm';
import type { Queryable } from '../client';
import {
  conversationDailyStats,
  type conversationChannels,
  type conversationStatuses,
} from '../schema';

type Channel = (typeof conversationChannels)[number];
type Status = (typeof conversationStatuses)[number];

/** The reporting day of a moment: its UTC date. */
export const reportingDay = (at: Date) => at.toISOString().slice(0, 10);

/** Adds `delta` conversations to one (day, channel, status) cell. */
export async function countConversation(
  db: Queryable,
  cell: { day: string; channel: Channel; status: Status },
  delta: 1 | -1,
): Promise<void> {
  await db
    .insert(conversationDailyStats)
    .values({ ...cell, conversations: delta })
    .onConflictDoUpdate({
      target: [
        conversationDailyStats.day,
        conversationDailyStats.channel,
        conversationDailyStats.status,
      ],
      set: { conversations: sql`${conversationDailyStats.conversations} + ${delta}` },
    });
}

export async function conversationReport(
  db: Queryable,
  {
    from,
    to,
    channel,
    status,
  }: { from: string; to: string; channel?: Channel | undefined; status?: Status | undefined },
) {
  const conditions = [between(conversationDailyStats.day, from, to)];
  if (channel) conditions.push(eq(conversationDailyStats.channel, channel));
  if (status) conditions.push(eq(conversationDailyStats.status, status));
  return db
    .select()
    .from(conversationDailyStats)
    .where(and(...conditions, sql`${conversationDailyStats.conversations} > 0`))
    .orderBy(
      asc(conversationDailyStats.day),
      asc(conversationDailyStats.channel),
      asc(conversationDailyStats.status),
    );
}
