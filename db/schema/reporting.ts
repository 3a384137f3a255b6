import { bigserial, date, index, integer, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { conversationChannel, conversationStatus } from './conversations';

/**
 * Conversations by the day they were created, their channel and their current
 * status. Deliberately not changed when conversations are deleted: reports
 * describe what happened. Writers never touch these rows (one cell is shared by
 * every conversation of a day and would serialise them all): they append to
 * `conversation_stat_changes`, which the worker folds in here.
 */
export const conversationDailyStats = pgTable(
  'conversation_daily_stats',
  {
    day: date('day', { mode: 'string' }).notNull(),
    channel: conversationChannel('channel').notNull(),
    status: conversationStatus('status').notNull(),
    conversations: integer('conversations').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.channel, t.status] })],
);

/**
 * Append-only changes to `conversation_daily_stats` not yet folded into it:
 * +1 when a conversation is created, −1/+1 when its status changes. Reports
 * add both tables up, so a change counts from its commit on.
 */
export const conversationStatChanges = pgTable(
  'conversation_stat_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    day: date('day', { mode: 'string' }).notNull(),
    channel: conversationChannel('channel').notNull(),
    status: conversationStatus('status').notNull(),
    delta: integer('delta').notNull(),
  },
  (t) => [index('conversation_stat_changes_day_idx').on(t.day)],
);
