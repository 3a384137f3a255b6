import { and, eq, sql, type SQL } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { notFound } from '../../lib/errors';
import type { Permission } from '../../lib/permissions';
import { userPermissions } from './users';
import type { Queryable } from '../client';
import {
  notificationDeliveries,
  notifications,
  notificationSettings,
  users,
  type notificationChannels,
} from '../schema';
import type { Page } from './customers';

export type NotificationRow = typeof notifications.$inferSelect;
export type NotificationChannel = (typeof notificationChannels)[number];

export interface ChannelSettings {
  email: boolean;
  inApp: boolean;
}

/** The kinds of notice a user can switch on or off, each channel independently. */
export interface NotificationSettings {
  bulkJobCompleted: ChannelSettings;
  gdprDeadlines: ChannelSettings;
}

export type NoticeCategory = keyof NotificationSettings;

export const defaultNotificationSettings: NotificationSettings = {
  bulkJobCompleted: { email: true, inApp: true },
  gdprDeadlines: { email: true, inApp: true },
};

type SettingsRow = typeof notificationSettings.$inferSelect;

const settingsOf = (row: SettingsRow | undefined): NotificationSettings =>
  row
    ? {
        bulkJobCompleted: { email: row.bulkJobCompletedEmail, inApp: row.bulkJobCompletedInApp },
        gdprDeadlines: { email: row.gdprDeadlinesEmail, inApp: row.gdprDeadlinesInApp },
      }
    : structuredClone(defaultNotificationSettings);

export async function getNotificationSettings(
  db: Queryable,
  userId: string,
): Promise<NotificationSettings> {
  const [row] = await db
    .select()
    .from(notificationSettings)
    .where(eq(notificationSettings.userId, userId));
  return settingsOf(row);
}

export type NotificationSettingsPatch = {
  [K in NoticeCategory]?: Partial<ChannelSettings>;
};

/** The column of each channel of each kind of notice. */
const settingColumns = {
  bulkJobCompleted: { email: 'bulkJobCompletedEmail', inApp: 'bulkJobCompletedInApp' },
  gdprDeadlines: { email: 'gdprDeadlinesEmail', inApp: 'gdprDeadlinesInApp' },
} as const satisfies Record<NoticeCategory, Record<keyof ChannelSettings, keyof SettingsRow>>;

/**
 * Changes only the channels given; the others keep their value. One upsert
 * that writes only those columns, so changes sent at once (also a user's
 * first, when no row exists yet to lock) all stay.
 */
export async function updateNotificationSettings(
  db: Queryable,
  userId: string,
  patch: NotificationSettingsPatch,
): Promise<NotificationSettings> {
  const changed: Partial<
    Record<(typeof settingColumns)[NoticeCategory][keyof ChannelSettings], boolean>
  > = {};
  for (const category of Object.keys(patch) as NoticeCategory[]) {
    for (const channel of Object.keys(patch[category] ?? {}) as (keyof ChannelSettings)[]) {
      const value = patch[category]?.[channel];
      if (value !== undefined) changed[settingColumns[category][channel]] = value;
    }
  }
  const [row] = await db
    .insert(notificationSettings)
    .values({ userId, ...changed })
    .onConflictDoUpdate({
      target: notificationSettings.userId,
      set: { ...changed, updatedAt: sql`now()` },
    })
    .returning();
  return settingsOf(row);
}

export interface Recipient {
  id: string;
  name: string;
  email: string;
  settings: NotificationSettings;
}

/** These users with their email address and settings (users that no longer exist are left out). */
export async function recipientsByIds(db: Queryable, ids: string[]): Promise<Recipient[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ user: users, settings: notificationSettings })
    .from(users)
    .leftJoin(notificationSettings, eq(notificationSettings.userId, users.id))
    .where(
      sql`${users.id} in (${sql.join(
        ids.map((id) => sql`${id}::uuid`),
        sql`, `,
      )})`,
    );
  return rows.map(({ user, settings }) => ({
    id: user.id,
    name: user.name,
    email: user.email,
    settings: settingsOf(settings ?? undefined),
  }));
}

/** Every user holding `permission` (admins hold all). */
export async function recipientsWithPermission(
  db: Queryable,
  permission: Permission,
): Promise<Recipient[]> {
  const rows = await db
    .select({ user: users, settings: notificationSettings })
    .from(users)
    .leftJoin(notificationSettings, eq(notificationSettings.userId, users.id))
    .where(sql`${users.isAdmin} or ${permission} = any(${userPermissions()})`);
  return rows.map(({ user, settings }) => ({
    id: user.id,
    name: user.name,
    email: user.email,
    settings: settingsOf(settings ?? undefined),
  }));
}

export async function wasDelivered(
  db: Queryable,
  noticeKey: string,
  userId: string,
  channel: NotificationChannel,
): Promise<boolean> {
  const [row] = await db
    .select({ key: notificationDeliveries.noticeKey })
    .from(notificationDeliveries)
    .where(
      and(
        eq(notificationDeliveries.noticeKey, noticeKey),
        eq(notificationDeliveries.userId, userId),
        eq(notificationDeliveries.channel, channel),
      ),
    );
  return row !== undefined;
}

/** Records a delivery; false when it was already recorded. */
export async function recordDelivery(
  db: Queryable,
  noticeKey: string,
  userId: string,
  channel: NotificationChannel,
): Promise<boolean> {
  const rows = await db
    .insert(notificationDeliveries)
    .values({ noticeKey, userId, channel })
    .onConflictDoNothing()
    .returning({ key: notificationDeliveries.noticeKey });
  return rows.length > 0;
}

/**
 * Adds an in-app notification exactly once per notice and user: the delivery
 * record and the row commit together, so a retry finds the record and stops.
 */
export async function addInAppNotification(
  db: Queryable,
  noticeKey: string,
  values: Omit<typeof notifications.$inferInsert, 'id' | 'readAt' | 'createdAt'>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (!(await recordDelivery(tx, noticeKey, values.userId, 'in_app'))) return false;
    await tx.insert(notifications).values(values);
    return true;
  });
}

/**
 * Adds many in-app notifications in one statement, each at most once per
 * notice key and user: the delivery records and the rows are written
 * together, in the caller's transaction. Returns how many were added.
 */
export async function addInAppNotifications(
  db: Queryable,
  notices: { noticeKey: string; userId: string; kind: string; title: string; body: string }[],
): Promise<number> {
  if (notices.length === 0) return 0;
  const rows = notices.map((n) => ({
    notice_key: n.noticeKey,
    user_id: n.userId,
    kind: n.kind,
    title: n.title,
    body: n.body,
  }));
  const result = await db.execute(sql`
    with notice as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as n(notice_key text, user_id uuid, kind text, title text, body text)),
    delivered as (
      insert into notification_deliveries (notice_key, user_id, channel)
      select notice_key, user_id, 'in_app' from notice
      on conflict do nothing returning notice_key, user_id)
    insert into notifications (user_id, kind, title, body)
    select n.user_id, n.kind, n.title, n.body from notice n join delivered d using (notice_key, user_id)`);
  return result.rowCount ?? 0;
}

/** A user's notifications: unread first, then newest first. */
export async function listNotifications(
  db: Queryable,
  userId: string,
  { limit, cursor, unread }: { limit: number; cursor?: string | undefined; unread?: boolean },
): Promise<Page<NotificationRow>> {
  const isRead = sql<number>`(${notifications.readAt} is not null)::int`;
  const conditions: SQL[] = [eq(notifications.userId, userId)];
  if (unread) conditions.push(sql`${notifications.readAt} is null`);
  if (cursor) {
    const [read, createdAt, id] = decodeCursor(cursor, ['flag', 'timestamp', 'uuid']);
    conditions.push(sql`(${isRead} > ${read}::int or (${isRead} = ${read}::int and
      (${notifications.createdAt}, ${notifications.id}) < (${createdAt}::timestamptz, ${id}::uuid)))`);
  }
  const rows = await db
    .select({
      notification: notifications,
      read: isRead,
      sortKey: sql<string>`${notifications.createdAt}::text`,
    })
    .from(notifications)
    .where(and(...conditions))
    .orderBy(isRead, sql`${notifications.createdAt} desc`, sql`${notifications.id} desc`)
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => row.notification),
    nextCursor:
      rows.length > limit && last
        ? encodeCursor([last.read, last.sortKey, last.notification.id])
        : null,
  };
}

/** Marks one of the user's notifications read; reading it again keeps the first time. */
export async function markNotificationRead(
  db: Queryable,
  userId: string,
  id: string,
): Promise<NotificationRow> {
  const [row] = await db
    .update(notifications)
    .set({ readAt: sql`coalesce(${notifications.readAt}, now())` })
    .where(and(eq(notifications.id, id), eq(notifications.userId, userId)))
    .returning();
  if (!row) throw notFound('Notification', id);
  return row;
}
