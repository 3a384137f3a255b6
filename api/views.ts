/**
 * Rows to response bodies. Dates become ISO strings here, once, so route
 * handlers return exactly what their response schema describes.
 */
import type { CompanyRow } from '../db/queries/companies';
import type { ConversationRow, MessageRow } from '../db/queries/conversations';
import type { CustomerRow } from '../db/queries/customers';
import type { EventRow } from '../db/queries/events';
import type { NotificationRow } from '../db/queries/notifications';
import type { TimelineItem } from '../db/queries/timeline';

/**
 * A stored time as RFC 3339. Rows written before times were bounded can hold
 * values a Date cannot represent (the driver then yields an invalid Date);
 * they read as the start of the accepted range instead of failing the request.
 */
export function iso(date: Date): string {
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
}

export const isoOrNull = (date: Date | null | undefined) => (date ? iso(date) : null);

export function customerView(row: CustomerRow) {
  return {
    id: row.id,
    name: row.name,
    companyId: row.companyId,
    emails: row.emails,
    phones: row.phones.map(({ number, e164, preferred }) => ({
      number,
      e164: e164 ?? null,
      preferred,
    })),
    socialHandles: row.socialHandles,
    websites: row.websites,
    externalId: row.externalId,
    customAttributes: row.customAttributes,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    lastActivityAt: iso(row.lastActivityAt),
  };
}

export function companyView(row: CompanyRow) {
  return {
    id: row.id,
    name: row.name,
    customAttributes: row.customAttributes,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export function messageView(row: MessageRow) {
  return { id: row.id, direction: row.direction, body: row.body, sentAt: iso(row.sentAt) };
}

export function conversationView(row: ConversationRow & { messages?: MessageRow[] }) {
  return {
    id: row.id,
    customerId: row.customerId,
    channel: row.channel,
    subject: row.subject,
    status: row.status,
    createdAt: iso(row.createdAt),
    lastActivityAt: iso(row.lastActivityAt),
    pinnedAt: isoOrNull(row.pinnedAt),
    ...(row.messages ? { messages: row.messages.map(messageView) } : {}),
  };
}

export function kobjectView(row: {
  id: string;
  customerId: string;
  klass: string;
  title: string;
  data: Record<string, unknown>;
  createdAt: Date;
  lastActivityAt: Date;
  pinnedAt: Date | null;
}) {
  return {
    id: row.id,
    customerId: row.customerId,
    klass: row.klass,
    title: row.title,
    data: row.data,
    createdAt: iso(row.createdAt),
    lastActivityAt: iso(row.lastActivityAt),
    pinnedAt: isoOrNull(row.pinnedAt),
  };
}

export function timelineItemView(item: TimelineItem) {
  return {
    type: item.type,
    id: item.id,
    title: item.title,
    channel: item.channel,
    status: item.status,
    klass: item.klass,
    lastActivityAt: iso(item.lastActivityAt),
    pinned: item.pinnedAt !== null,
    pinnedAt: isoOrNull(item.pinnedAt),
  };
}

export function eventView(row: EventRow) {
  return {
    id: row.id,
    customerId: row.customerId,
    type: row.type,
    occurredAt: iso(row.occurredAt),
    properties: row.properties,
    externalId: row.externalId,
    createdAt: iso(row.createdAt),
  };
}

export function notificationView(row: NotificationRow) {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    body: row.body,
    jobId: row.jobId,
    gdprRequestId: row.gdprRequestId,
    read: row.readAt !== null,
    readAt: isoOrNull(row.readAt),
    createdAt: iso(row.createdAt),
  };
}
