import { Type } from 'typebox';
import { Nullable, Timestamp, Uuid } from './common';

export const TimelineItem = Type.Object({
  type: Type.Union([Type.Literal('conversation'), Type.Literal('kobject'), Type.Literal('event')]),
  id: Uuid,
  title: Type.String({
    description: "A conversation's subject, a KObject's title or an event's type.",
  }),
  channel: Nullable(Type.String()),
  status: Nullable(Type.String()),
  klass: Nullable(Type.String()),
  lastActivityAt: Timestamp,
  pinned: Type.Boolean(),
  pinnedAt: Nullable(Timestamp),
});
