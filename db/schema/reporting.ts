import { date, integer, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { conversationChannel, conversationStatus } from './conversations';

/**
 * Conversations by the day they were created, their channel and their current
 * status. Kept up to date when conversations are created or change status, and
 * deliberately not when they are deleted: reports describe what happened.
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
