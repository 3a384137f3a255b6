import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz, updatedAt } from './columns';
import { gdprRequests } from './gdpr';
import { jobs } from './jobs';
import { users } from './users';

/**
 * Per user and kind of notice, whether it comes by email and whether in-app;
 * each channel independent. No row means every channel on.
 */
export const notificationSettings = pgTable('notification_settings', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** "A job I started has finished" (bulk jobs, late or failed jobs). */
  bulkJobCompletedEmail: boolean('bulk_job_completed_email').notNull().default(true),
  bulkJobCompletedInApp: boolean('bulk_job_completed_in_app').notNull().default(true),
  /** GDPR deadline reminders, overdue alerts and failed erasures (users with gdpr.manage). */
  gdprDeadlinesEmail: boolean('gdpr_deadlines_email').notNull().default(true),
  gdprDeadlinesInApp: boolean('gdpr_deadlines_in_app').notNull().default(true),
  updatedAt: updatedAt(),
});

/** In-app notifications. Titles and bodies hold kinds, IDs, counts and dates only. */
export const notifications = pgTable(
  'notifications',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    jobId: uuid('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    gdprRequestId: uuid('gdpr_request_id').references(() => gdprRequests.id, {
      onDelete: 'set null',
    }),
    title: text('title').notNull(),
    body: text('body').notNull(),
    readAt: timestamptz('read_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('notifications_user_idx').on(t.userId, t.createdAt),
    index('notifications_user_unread_idx')
      .on(t.userId, t.createdAt)
      .where(sql`${t.readAt} is null`),
    index('notifications_job_idx').on(t.jobId),
    index('notifications_gdpr_request_idx').on(t.gdprRequestId),
  ],
);

export const notificationChannels = ['email', 'in_app'] as const;

/**
 * One row per notice, recipient and channel once delivered, so a retried
 * send skips what already went out. The key is built from IDs only.
 */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    noticeKey: text('notice_key').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: notificationChannels }).notNull(),
    deliveredAt: timestamptz('delivered_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.noticeKey, t.userId, t.channel] })],
);
