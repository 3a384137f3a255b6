import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  acknowledgeWebhookDelivery,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  insertWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  resendWebhookDelivery,
  resumeWebhookEndpoint,
  rotateWebhookSecret,
  updateWebhookEndpoint,
  type DeliveryWithAttempts,
  type WebhookEndpointRow,
} from '../../db/queries/webhooks';
import { checkWebhookEventTypes, checkWebhookUrl } from '../../domain/webhooks';
import { adminOnly, can, currentUser } from '../plugins/auth';
import { IdParams, NoContent, PageQuery, problems, Timestamp } from '../schemas/common';
import {
  CreateWebhookBody,
  UpdateWebhookBody,
  Webhook,
  WebhookDelivery,
  WebhookDeliveryPage,
  WebhookWithSecret,
} from '../schemas/webhooks';
import { iso } from '../views';
import { Type } from 'typebox';

const tags = ['webhooks'];

const webhookView = (row: WebhookEndpointRow) => ({
  id: row.id,
  url: row.url,
  description: row.description,
  eventTypes: row.eventTypes,
  status: row.status,
  consecutiveFailures: row.consecutiveFailures,
  pausedAt: row.pausedAt ? iso(row.pausedAt) : null,
  previousSecretExpiresAt:
    row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date()
      ? iso(row.previousSecretExpiresAt)
      : null,
  createdAt: iso(row.createdAt),
  updatedAt: iso(row.updatedAt),
});

const deliveryView = ({ delivery, eventType, attempts }: DeliveryWithAttempts) => ({
  id: delivery.id,
  endpointId: delivery.endpointId,
  eventId: delivery.eventId,
  eventType,
  status: delivery.status,
  attempts: delivery.attempts,
  nextAttemptAt: delivery.status === 'pending' ? iso(delivery.nextAttemptAt) : null,
  lastStatusCode: delivery.lastStatusCode,
  deliveredAt: delivery.deliveredAt ? iso(delivery.deliveredAt) : null,
  acknowledgedAt: delivery.acknowledgedAt ? iso(delivery.acknowledgedAt) : null,
  acknowledgedVia: delivery.acknowledgedVia,
  createdAt: iso(delivery.createdAt),
  attemptLog: attempts.map((a) => ({
    attemptedAt: iso(a.attemptedAt),
    statusCode: a.statusCode,
    durationMs: a.durationMs,
    errorClass: a.errorClass,
  })),
});

/** Webhook endpoints and their deliveries (docs/webhooks.md); admins only, as they see every event. */
const webhooks: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/webhooks',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'List webhook endpoints (admins)',
        response: { 200: Type.Object({ items: Type.Array(Webhook) }), ...problems(403) },
      },
    },
    async () => ({ items: (await listWebhookEndpoints(app.db)).map(webhookView) }),
  );

  app.post(
    '/webhooks',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Subscribe an endpoint to events (admins)',
        description:
          'Answers the signing secret, this once. 422 WEBHOOK_URL_NOT_HTTPS, WEBHOOK_URL_INVALID or WEBHOOK_EVENT_TYPE_UNKNOWN.',
        body: CreateWebhookBody,
        response: { 201: WebhookWithSecret, ...problems(403, 422) },
      },
    },
    async (request, reply) => {
      const { url, eventTypes, description, enabled } = request.body;
      const row = await insertWebhookEndpoint(app.db, {
        url: checkWebhookUrl(url),
        eventTypes: checkWebhookEventTypes(eventTypes),
        description: description ?? null,
        enabled: enabled ?? true,
        createdBy: currentUser(request).id,
      });
      return reply
        .code(201)
        .header('location', `/v1/webhooks/${row.id}`)
        .send({ ...webhookView(row), secret: row.secret });
    },
  );

  app.get(
    '/webhooks/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Get a webhook endpoint (admins)',
        params: IdParams,
        response: { 200: Webhook, ...problems(403, 404) },
      },
    },
    async (request) => webhookView(await getWebhookEndpoint(app.db, request.params.id)),
  );

  app.patch(
    '/webhooks/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Change a webhook endpoint (admins)',
        params: IdParams,
        body: UpdateWebhookBody,
        response: { 200: Webhook, ...problems(403, 404, 422) },
      },
    },
    async (request) => {
      const { url, eventTypes, description, enabled } = request.body;
      return webhookView(
        await updateWebhookEndpoint(app.db, request.params.id, {
          ...(url === undefined ? {} : { url: checkWebhookUrl(url) }),
          ...(eventTypes === undefined ? {} : { eventTypes: checkWebhookEventTypes(eventTypes) }),
          ...(description === undefined ? {} : { description }),
          ...(enabled === undefined ? {} : { enabled }),
        }),
      );
    },
  );

  app.delete(
    '/webhooks/:id',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Delete a webhook endpoint and its delivery log (admins)',
        params: IdParams,
        response: { 204: NoContent, ...problems(403, 404) },
      },
    },
    async (request, reply) => {
      await deleteWebhookEndpoint(app.db, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Rotate the signing secret (admins)',
        description:
          'Answers the new secret, this once. The previous one keeps signing, as a second `v1` in ' +
          '`Custodian-Signature`, until `previousSecretExpiresAt` (WEBHOOK_SECRET_GRACE, a day by default).',
        params: IdParams,
        response: { 200: WebhookWithSecret, ...problems(403, 404) },
      },
    },
    async (request) => {
      const row = await rotateWebhookSecret(
        app.db,
        request.params.id,
        app.config.webhooks.secretGraceMs,
      );
      return { ...webhookView(row), secret: row.secret };
    },
  );

  app.post(
    '/webhooks/:id/resume',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Resume a paused (or disabled) endpoint (admins)',
        description: 'Everything it has pending is sent at once, oldest first.',
        params: IdParams,
        response: { 200: Webhook, ...problems(403, 404) },
      },
    },
    async (request) => webhookView(await resumeWebhookEndpoint(app.db, request.params.id)),
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: "An endpoint's deliveries with their attempts, newest first (admins)",
        params: IdParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: WebhookDeliveryPage, ...problems(403, 404) },
      },
    },
    async (request) => {
      const page = await listWebhookDeliveries(app.db, request.params.id, {
        limit: request.query.limit ?? 25,
        cursor: request.query.cursor,
      });
      return { items: page.items.map(deliveryView), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/webhook-deliveries/:id/resend',
    {
      config: { access: adminOnly },
      schema: {
        tags,
        summary: 'Send a delivery again (admins)',
        description:
          'Queues it due now, with the same event ID, whatever its state; it goes out before its endpoint’s later pending deliveries.',
        params: IdParams,
        response: {
          202: Type.Object({ id: WebhookDelivery.properties.id }),
          ...problems(403, 404),
        },
      },
    },
    async (request, reply) => {
      const row = await resendWebhookDelivery(app.db, request.params.id);
      return reply.code(202).send({ id: row.id });
    },
  );

  app.post(
    '/webhook-deliveries/:id/ack',
    {
      config: { access: can('gdpr.manage') },
      schema: {
        tags,
        summary: 'Acknowledge an erasure event: the receiving system has erased its copy',
        description:
          'For consumers that erase asynchronously: they answer the delivery 202 Accepted, erase, then call this ' +
          'with the delivery ID they received (`Custodian-Delivery-Id`). The erasure receipt then counts as ' +
          'acknowledged. Repeating it changes nothing. 409 WEBHOOK_ACK_NOT_EXPECTED for any other event type.',
        params: IdParams,
        response: {
          200: Type.Object({
            id: WebhookDelivery.properties.id,
            eventId: WebhookDelivery.properties.eventId,
            endpointId: WebhookDelivery.properties.endpointId,
            status: WebhookDelivery.properties.status,
            acknowledgedAt: Timestamp,
            acknowledgedVia: WebhookDelivery.properties.acknowledgedVia,
          }),
          ...problems(403, 404, 409),
        },
      },
    },
    async (request) => {
      const row = await acknowledgeWebhookDelivery(
        app.db,
        request.params.id,
        currentUser(request).id,
      );
      return {
        id: row.id,
        eventId: row.eventId,
        endpointId: row.endpointId,
        status: row.status,
        acknowledgedAt: iso(row.acknowledgedAt!),
        acknowledgedVia: row.acknowledgedVia,
      };
    },
  );
};

export default webhooks;
