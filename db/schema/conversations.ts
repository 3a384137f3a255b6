import { desc, sql } from 'drizzle-orm';
import { index, pgEnum, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz } from './columns';
import { customers } from './customers';
import { users } from './users';

export const conversationChannels = ['email', 'chat', 'sms', 'voice', 'social', 'other'] as const;
export const conversationStatuses = ['open', 'snoozed', 'done'] as const;
export const messageDirections = ['inbound', 'outbound'] as const;

export const conversationChannel = pgEnum('conversation_channel', conversationChannels);
export const conversationStatus = pgEnum('conversation_status', conversationStatuses);
export const messageDirection = pgEnum('message_direction', messageDirections);

export const conversations = pgTable(
  'conversations',
  {
    id: id(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    channel: conversationChannel('channel').notNull(),
    subject: text('subject').notNull().default(''),
    status: conversationStatus('status').notNull().default('open'),
    createdAt: createdAt(),
    lastActivityAt: timestamptz('last_activity_at').notNull().defaultNow(),
    /** Pins are shared by all users, so they live on the item itself. */
    pinnedAt: timestamptz('pinned_at'),
    pinnedBy: uuid('pinned_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    index('conversations_customer_activity_idx').on(
      t.customerId,
      desc(t.lastActivityAt),
      desc(t.id),
    ),
    index('conversations_customer_status_idx').on(t.customerId, t.status),
    // The timeline's sort key (see db/queries/timeline.ts): pins first, then the
    // pin or activity time. Each page is a range of this index, however long the timeline.
    index('conversations_customer_timeline_idx').on(
      t.customerId,
      desc(sql`(${t.pinnedAt} is not null)`),
      desc(sql`coalesce(${t.pinnedAt}, ${t.lastActivityAt})`),
      desc(t.id),
    ),
  ],
);

export const messages = pgTable(
  'messages',
  {
    id: id(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    direction: messageDirection('direction').notNull(),
    body: text('body').notNull(),
    sentAt: timestamptz('sent_at').notNull().defaultNow(),
  },
  (t) => [index('messages_conversation_idx').on(t.conversationId, t.sentAt)],
);
