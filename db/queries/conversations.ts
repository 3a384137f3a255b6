import { asc, eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { notFound } from '../../lib/errors';
import type { Database, Queryable } from '../client';
import {
  conversations,
  messages,
  type conversationChannels,
  type conversationStatuses,
  type messageDirections,
} from '../schema';
import { lockCustomerForWrite, touchCustomer } from './customers';
import { countConversations, countNewConversations, reportingDay } from './reporting';
import { enqueueSearchSync } from './search-outbox';
import { addToTimeline } from './timeline-writes';

export type ConversationRow = typeof conversations.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;

export interface NewMessage {
  direction: (typeof messageDirections)[number];
  body: string;
  sentAt?: Date | undefined;
}

export async function createConversation(
  db: Database,
  customerId: string,
  input: {
    channel: (typeof conversationChannels)[number];
    subject?: string | undefined;
    status?: (typeof conversationStatuses)[number] | undefined;
    messages?: NewMessage[] | undefined;
    /** When an imported conversation really started; defaults to now. */
    createdAt?: Date | undefined;
  },
): Promise<ConversationRow & { messages: MessageRow[] }> {
  const now = input.createdAt ?? new Date();
  const sent = (input.messages ?? []).map((m) => ({
    id: randomUUID(),
    direction: m.direction,
    body: m.body,
    sentAt: m.sentAt ?? now,
  }));
  const lastActivityAt = new Date(Math.max(now.getTime(), ...sent.map((m) => m.sentAt.getTime())));
  const conversation: ConversationRow = {
    id: randomUUID(),
    customerId,
    channel: input.channel,
    subject: input.subject ?? '',
    status: input.status ?? 'open',
    createdAt: now,
    lastActivityAt,
    pinnedAt: null,
    pinnedBy: null,
  };
  // IDs are made here, so the rows this returns are exactly those written, in the order given.
  const written = await addToTimeline(db, {
    customerId,
    at: sql`${lastActivityAt.toISOString()}::timestamptz`,
    steps: sql`item as (
      insert into conversations (id, customer_id, channel, subject, status, created_at, last_activity_at)
      select ${conversation.id}::uuid, customer.id, ${conversation.channel}::conversation_channel,
        ${conversation.subject}, ${conversation.status}::conversation_status,
        ${now.toISOString()}::timestamptz, ${lastActivityAt.toISOString()}::timestamptz
      from customer
      returning id, channel, status
    ), thread as (
      insert into messages (id, conversation_id, direction, body, sent_at)
      select m.id, item.id, m.direction, m.body, m."sentAt"
      from item, jsonb_to_recordset(${JSON.stringify(sent)}::jsonb)
        as m(id uuid, direction message_direction, body text, "sentAt" timestamptz)
    ), counted as (
      ${countNewConversations(sql`item`, reportingDay(now))}
    )`,
    entity: 'conversation',
    returning: sql`item.id`,
  });
  if (!written) throw notFound('Customer', customerId);
  return {
    ...conversation,
    messages: sent.map((m) => ({ ...m, conversationId: conversation.id })),
  };
}

export async function getConversation(db: Queryable, id: string) {
  const [conversation] = await db.select().from(conversations).where(eq(conversations.id, id));
  if (!conversation) throw notFound('Conversation', id);
  const thread = await db
    .select()
    .from(messages)
    .where(eq(messages.conversationId, id))
    .orderBy(asc(messages.sentAt), asc(messages.id));
  return { ...conversation, messages: thread };
}

/**
 * Locks a conversation for a write, after its customer (the lock order every
 * write and job keeps). A split or merge may move the conversation between
 * reading its owner and locking it; then the owner is read again.
 */
async function lockConversation(db: Queryable, id: string): Promise<ConversationRow> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const [seen] = await db
      .select({ customerId: conversations.customerId })
      .from(conversations)
      .where(eq(conversations.id, id));
    if (!seen) break;
    const customerLocked = await lockCustomerForWrite(db, seen.customerId);
    const [row] = await db
      .select()
      .from(conversations)
      .where(eq(conversations.id, id))
      .for('update');
    if (!row) break;
    if (customerLocked && row.customerId === seen.customerId) return row;
  }
  throw notFound('Conversation', id);
}

export async function addMessage(
  db: Queryable,
  conversationId: string,
  input: NewMessage,
): Promise<MessageRow> {
  return db.transaction(async (tx) => {
    const conversation = await lockConversation(tx, conversationId);
    const sentAt = input.sentAt ?? new Date();
    const [message] = await tx
      .insert(messages)
      .values({ ...input, sentAt, conversationId })
      .returning();
    await tx
      .update(conversations)
      .set({
        lastActivityAt: sql`greatest(${conversations.lastActivityAt}, ${sentAt.toISOString()}::timestamptz)`,
      })
      .where(eq(conversations.id, conversationId));
    await enqueueSearchSync(tx, 'conversation', [conversationId]);
    await touchCustomer(tx, conversation.customerId, sentAt);
    return message!;
  });
}

export async function updateConversation(
  db: Queryable,
  id: string,
  patch: {
    status?: (typeof conversationStatuses)[number] | undefined;
    subject?: string | undefined;
  },
): Promise<ConversationRow> {
  return db.transaction(async (tx) => {
    const before = await lockConversation(tx, id);
    const [after] = await tx
      .update(conversations)
      .set({ ...patch, lastActivityAt: sql`now()` })
      .where(eq(conversations.id, id))
      .returning();
    if (patch.status && patch.status !== before.status) {
      // The report counts each conversation once, under its current status.
      const cell = { day: reportingDay(before.createdAt), channel: before.channel };
      await countConversations(tx, [
        { ...cell, status: before.status, delta: -1 },
        { ...cell, status: patch.status, delta: 1 },
      ]);
    }
    await enqueueSearchSync(tx, 'conversation', [id]);
    await touchCustomer(tx, before.customerId);
    return after!;
  });
}
