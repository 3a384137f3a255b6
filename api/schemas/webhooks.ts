import { erasureReceiptStatuses } from '../../domain/webhooks';
import { Type } from 'typebox';
import { webhookEventTypes } from '../../domain/webhooks';
import { Nullable, OneOf, Page, Timestamp, Uuid } from './common';

const EventTypes = Type.Array(Type.String({ maxLength: 100 }), {
  minItems: 1,
  maxItems: webhookEventTypes.length,
  description: `Event types to receive, among: ${webhookEventTypes.join(', ')}. 422 WEBHOOK_EVENT_TYPE_UNKNOWN otherwise.`,
});
const Url = Type.String({
  maxLength: 2000,
  description:
    'HTTPS; plain http only to 127.0.0.1, ::1 or localhost (development). 422 WEBHOOK_URL_NOT_HTTPS / WEBHOOK_URL_INVALID.',
});
const Description = Nullable(Type.String({ maxLength: 500 }));

export const CreateWebhookBody = Type.Object(
  {
    url: Url,
    eventTypes: EventTypes,
    description: Type.Optional(Description),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    eventTypes: Type.Optional(EventTypes),
    description: Type.Optional(Description),
    enabled: Type.Optional(
      Type.Boolean({
        description: 'false stops queueing events; true enables (and resumes a paused endpoint).',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const Webhook = Type.Object({
  id: Uuid,
  url: Type.String(),
  description: Description,
  eventTypes: Type.Array(Type.String()),
  status: OneOf(['enabled', 'disabled', 'paused'] as const, {
    description: '`paused`: the circuit breaker stopped it after consecutive failures.',
  }),
  consecutiveFailures: Type.Integer(),
  pausedAt: Nullable(Timestamp),
  previousSecretExpiresAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const WebhookWithSecret = Type.Intersect([
  Webhook,
  Type.Object({
    secret: Type.String({ description: 'Shown this once: keep it to verify signatures.' }),
  }),
]);

const Attempt = Type.Object({
  attemptedAt: Timestamp,
  statusCode: Nullable(Type.Integer()),
  durationMs: Type.Integer(),
  errorClass: Nullable(
    Type.String({ description: '`http_status`, `timeout` or `connection`; null when 2xx.' }),
  ),
});

export const WebhookDelivery = Type.Object({
  id: Uuid,
  endpointId: Uuid,
  eventId: Uuid,
  eventType: Type.String(),
  status: OneOf(['pending', 'delivered', 'failed'] as const),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Timestamp),
  lastStatusCode: Nullable(Type.Integer()),
  deliveredAt: Nullable(Timestamp),
  acknowledgedAt: Nullable(Timestamp),
  acknowledgedVia: Nullable(OneOf(['response', 'api'] as const)),
  createdAt: Timestamp,
  attemptLog: Type.Array(Attempt),
});

export const ErasureReceipt = Type.Object({
  endpointId: Uuid,
  url: Type.String(),
  description: Nullable(Type.String()),
  deliveryId: Uuid,
  eventId: Uuid,
  status: OneOf(erasureReceiptStatuses),
  attempts: Type.Integer(),
  lastStatusCode: Nullable(Type.Integer()),
  queuedAt: Timestamp,
  deliveredAt: Nullable(Timestamp),
  acknowledgedAt: Nullable(Timestamp),
  acknowledgedVia: Nullable(OneOf(['response', 'api'] as const)),
  failedAt: Nullable(Timestamp),
});

/** Each subscribed system's receipt of an erasure (docs/webhooks.md, "Erasure receipts"). */
export const ErasureReceipts = Type.Object({
  confirmed: Type.Boolean({
    description: 'Every endpoint told of the erasure acknowledged it (true when none was told).',
  }),
  unconfirmedEndpointIds: Type.Array(Uuid, {
    description:
      'Endpoints that have not acknowledged: pending, delivered (202) without ack, or failed.',
  }),
  receipts: Type.Array(ErasureReceipt),
});

export const WebhookDeliveryPage = Page(WebhookDelivery);
