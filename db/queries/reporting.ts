import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../client';
import {
  conversationStatChanges,
  type conversationChannels,
  type conversationStatuses,
} from '../schema';

type Channel = (typeof conversationChannels)[number];
type Status = (typeof conversationStatuses)[number];

/** The reporting day of a moment: its UTC date. */
export const reportingDay = (at: Date) => at.toISOString().slice(0, 10);

export interface StatChange {
  day: string;
  channel: Channel;
  status: Status;
  delta: 1 | -1;
}

/**
 * Records changes to the conversation counts. An insert into an append-only
 * table: it locks no shared row, so writes of different customers never wait
 * for one another here.
 */
export async function countConversations(db: Queryable, changes: StatChange[]): Promise<void> {
  if (changes.length === 0) return;
  await db.insert(conversationStatChanges).values(changes);
}

/**
 * `countConversations` for new conversations, as a statement for a CTE: +1 on
 * `day` for each row of `source` (a CTE returning `channel` and `status`).
 */
export const countNewConversations = (source: SQL, day: string): SQL => sql`
  insert into conversation_stat_changes (day, channel, status, delta)
  select ${day}::date, channel, status, 1 from ${source}`;

/** One Postgres advisory lock key: one folder at a time. */
const FOLD_LOCK = 7_240_531_002;

/**
 * Moves up to `batchSize` recorded changes into `conversation_daily_stats`, in
 * one statement, so a report (which adds up both tables in one snapshot) sees
 * every change exactly once, before or after the fold. Returns how many it
 * moved; 0 when another process is folding.
 */
export async function foldConversationStatChanges(
  db: Queryable,
  batchSize = 10_000,
): Promise<number> {
  return db.transaction(async (tx) => {
    const lock = await tx.execute<{ locked: boolean }>(
      sql`select pg_try_advisory_xact_lock(${FOLD_LOCK}) as locked`,
    );
    if (!lock.rows[0]?.locked) return 0;
    const folded = await tx.execute<{ moved: number }>(sql`
      with moved as (
        delete from conversation_stat_changes
        where id in (select id from conversation_stat_changes order by id limit ${batchSize})
        returning day, channel, status, delta
      ), cells as (
        insert into conversation_daily_stats as s (day, channel, status, conversations)
        select day, channel, status, sum(delta)::int from moved group by day, channel, status
        on conflict (day, channel, status)
        do update set conversations = s.conversations + excluded.conversations
      )
      select count(*)::int as moved from moved`);
    return folded.rows[0]?.moved ?? 0;
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
): Promise<{ day: string; channel: Channel; status: Status; conversations: number }[]> {
  const where = sql.join(
    [
      sql`day between ${from}::date and ${to}::date`,
      ...(channel ? [sql`channel = ${channel}`] : []),
      ...(status ? [sql`status = ${status}`] : []),
    ],
    sql` and `,
  );
  const result = await db.execute<{
    day: string;
    channel: Channel;
    status: Status;
    conversations: number;
  }>(sql`
    select to_char(day, 'YYYY-MM-DD') as day, channel, status, sum(n)::int as conversations
    from (
      select day, channel, status, conversations as n from conversation_daily_stats where ${where}
      union all
      select day, channel, status, delta as n from conversation_stat_changes where ${where}
    ) cells
    group by day, channel, status
    having sum(n) > 0
    order by day, channel, status`);
  return result.rows;
}
