import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  getNotificationSettings,
  listNotifications,
  markNotificationRead,
  updateNotificationSettings,
} from '../../db/queries/notifications';
import { anyUser, currentUser } from '../plugins/auth';
import { IdParams, Page, PageQuery, problems } from '../schemas/common';
import {
  Notification,
  NotificationSettings,
  NotificationSettingsPatch,
} from '../schemas/notifications';
import { notificationView } from '../views';

const tags = ['notifications'];

/** Each user's own notification settings and in-app notifications. */
const notifications: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/me/notification-settings',
    {
      config: { access: anyUser },
      schema: {
        tags,
        summary: 'How you are told about each kind of notice (every channel is on by default)',
        response: { 200: NotificationSettings, ...problems() },
      },
    },
    async (request) => getNotificationSettings(app.db, currentUser(request).id),
  );

  app.put(
    '/me/notification-settings',
    {
      config: { access: anyUser },
      schema: {
        tags,
        summary: 'Switch email and in-app notices on or off, each channel independently',
        body: NotificationSettingsPatch,
        response: { 200: NotificationSettings, ...problems() },
      },
    },
    async (request) => updateNotificationSettings(app.db, currentUser(request).id, request.body),
  );

  app.get(
    '/me/notifications',
    {
      config: { access: anyUser },
      schema: {
        tags,
        summary: 'Your in-app notifications: unread first, then newest first',
        querystring: Type.Object(
          {
            ...PageQuery,
            unread: Type.Optional(Type.Boolean({ description: 'Only unread ones.' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Notification), ...problems() },
      },
    },
    async (request) => {
      const { limit = 25, cursor, unread = false } = request.query;
      const page = await listNotifications(app.db, currentUser(request).id, {
        limit,
        cursor,
        unread,
      });
      return { items: page.items.map(notificationView), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/me/notifications/:id/read',
    {
      config: { access: anyUser },
      schema: {
        tags,
        summary: 'Mark one of your notifications read',
        params: IdParams,
        response: { 200: Notification, ...problems(404) },
      },
    },
    async (request) =>
      notificationView(
        await markNotificationRead(app.db, currentUser(request).id, request.params.id),
      ),
  );
};

export default notifications;
