import { Type } from 'typebox';
import { Nullable, Timestamp, Uuid } from './common';

const Channels = Type.Object(
  {
    email: Type.Boolean(),
    inApp: Type.Boolean(),
  },
  { additionalProperties: false },
);

const ChannelsPatch = Type.Partial(Channels, { additionalProperties: false });

export const NotificationSettings = Type.Object({
  bulkJobCompleted: Channels,
  gdprDeadlines: Channels,
});

export const NotificationSettingsPatch = Type.Object(
  {
    bulkJobCompleted: Type.Optional(ChannelsPatch),
    gdprDeadlines: Type.Optional(ChannelsPatch),
  },
  {
    additionalProperties: false,
    description: 'Only the channels given change; the others keep their value.',
  },
);

export const Notification = Type.Object({
  id: Uuid,
  kind: Type.String({
    description:
      'job_finished | gdpr_reminder | gdpr_overdue | gdpr_erasure_failed | saved_search_removed',
  }),
  title: Type.String(),
  body: Type.String(),
  jobId: Nullable(Uuid),
  gdprRequestId: Nullable(Uuid),
  read: Type.Boolean(),
  readAt: Nullable(Timestamp),
  createdAt: Timestamp,
});
