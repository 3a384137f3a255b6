/**
 * Erasure receipts: every erasure — a privacy request's, a single customer
 * delete, a bulk erasure — sends `customer.erasure_requested` to each
 * subscribed endpoint; 2xx acknowledges at once, 202 waits for
 * `POST /v1/webhook-deliveries/{id}/ack`; the privacy request's record and
 * view list each endpoint's receipt. Privacy requests announce their creation
 * and completion. Real receivers on loopback; tests share one database, so
 * every assertion looks at this file's own customers.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookEndpoints } from '../../db/schema';
import { startWebhookDispatcher, type WebhookDispatcher } from '../../webhooks/dispatcher';
import { startBulkErasure } from '../privacy/bulk-erasure';
import {
  eventually,
  problemOf,
  startTestApp,
  testConfig,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';
import { jobWhenFinished } from '../job-helpers';
import { Receiver, type ReceivedEvent } from '../webhooks/receiver';

const ERASURE_TYPES = [
  'customer.erasure_requested',
  'privacy_request.created',
  'privacy_request.completed',
];

interface Receipt {
  endpointId: string;
  deliveryId: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  deliveredAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedVia: string | null;
  failedAt: string | null;
}
interface Receipts {
  confirmed: boolean;
  unconfirmedEndpointIds: string[];
  receipts: Receipt[];
}
interface Detail {
  id: string;
  status: string;
  completionRecord: { downstream?: Receipts } | null;
  downstream: Receipts | null;
}

let t: TestApp;
let dispatcher: WebhookDispatcher;
const receivers: Receiver[] = [];
const endpointIds: string[] = [];

beforeAll(async () => {
  t = await startTestApp({ worker: true });
  dispatcher = startWebhookDispatcher({
    db: t.db,
    onlyEndpoints: () => endpointIds,
    databaseUrl: t.config.databaseUrl,
    config: {
      ...t.config.webhooks,
      timeoutMs: 2_000,
      backoffBaseMs: 50,
      // A failing endpoint is given up on within seconds, so its receipt reads `failed`.
      maxAgeMs: 1_500,
      breakerThreshold: 1_000,
      pollMs: 50,
    },
  });
});
afterAll(async () => {
  await dispatcher.stop();
  for (const id of endpointIds)
    await t.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

async function subscribedReceiver(
  answer: Receiver['answer'],
  eventTypes = ERASURE_TYPES,
): Promise<{ r: Receiver; id: string }> {
  const r = await new Receiver().start();
  r.answer = answer;
  receivers.push(r);
  const endpoint = await t.create<{ id: string }>('/v1/webhooks', { url: r.url, eventTypes });
  endpointIds.push(endpoint.id);
  return { r, id: endpoint.id };
}

const newCustomer = async () =>
  (await t.create('/v1/customers', { name: `Erased ${uniqueWord()}` })).id;

const about = (customerId: string, type: string) => (e: ReceivedEvent) =>
  e.type === type && e.data.customerId === customerId;

const arrival = (r: Receiver, match: (e: ReceivedEvent) => boolean, what: string) =>
  eventually(async () => r.received.find((x) => match(x.event)), 15_000, what);

describe('erasure receipts', () => {
  it('list, for a privacy request, two acknowledging endpoints (2xx, and 202 then ack) and one failing', async () => {
    const ok = await subscribedReceiver(() => 200);
    const later = await subscribedReceiver((e) =>
      e.type === 'customer.erasure_requested' ? 202 : 200,
    );
    const failing = await subscribedReceiver(() => 500);
    const word = uniqueWord('erase');
    const customerId = (
      await t.create('/v1/customers', {
        name: `Erase ${word}`,
        emails: [{ address: `${word}@example.org` }],
      })
    ).id;

    const request = await t.create<{ id: string }>('/v1/privacy-requests', { customerId });
    const created = await arrival(ok.r, about(customerId, 'privacy_request.created'), 'created');
    expect(created.event.data).toEqual({
      privacyRequestId: request.id,
      customerId,
      type: 'erasure',
      regulation: 'gdpr',
    });

    const erase = await t.call('POST', `/v1/privacy-requests/${request.id}/erase`);
    expect([200, 202], erase.body).toContain(erase.statusCode);
    const jobId = erase.json<{ job: { id: string } }>().job.id;

    const asked = await arrival(ok.r, about(customerId, 'customer.erasure_requested'), 'erasure');
    expect(asked.event.data).toEqual({ customerId, jobId, privacyRequestIds: [request.id] });
    expect(asked.body).not.toContain(word);
    const pendingAck = await arrival(
      later.r,
      about(customerId, 'customer.erasure_requested'),
      'the erasure at the asynchronous consumer',
    );
    expect(pendingAck.answered).toBe(202);

    const completed = await eventually(
      async () => {
        const d = (await t.call('GET', `/v1/privacy-requests/${request.id}`)).json<Detail>();
        return d.status === 'completed' ? d : undefined;
      },
      30_000,
      'the request to complete',
    );
    // Completing did not wait for every acknowledgement (the default), and its record says so.
    expect(completed.completionRecord?.downstream?.confirmed).toBe(false);
    expect(completed.completionRecord?.downstream?.unconfirmedEndpointIds).toContain(failing.id);
    expect(
      completed.completionRecord?.downstream?.receipts.map((x) => x.endpointId).sort(),
    ).toEqual([ok.id, later.id, failing.id].sort());
    const announced = await arrival(
      ok.r,
      about(customerId, 'privacy_request.completed'),
      'privacy_request.completed',
    );
    expect(announced.event.data).toMatchObject({
      privacyRequestId: request.id,
      customerId,
      type: 'erasure',
      jobId,
      downstreamConfirmed: false,
    });

    // The view names who has not confirmed: the 202 consumer until it acks, the failing one.
    const before = (await t.call('GET', `/v1/privacy-requests/${request.id}`)).json<Detail>();
    expect(before.downstream?.unconfirmedEndpointIds).toEqual(
      expect.arrayContaining([later.id, failing.id]),
    );
    expect(before.downstream?.unconfirmedEndpointIds).not.toContain(ok.id);

    const deliveryId = pendingAck.headers['custodian-delivery-id'] as string;
    const consumer = await userWithKey(t.db, { permissions: ['gdpr.manage'] });
    const nobody = await userWithKey(t.db, { permissions: ['customers.read'] });
    expect(
      (await t.call('POST', `/v1/webhook-deliveries/${deliveryId}/ack`, { key: nobody.key }))
        .statusCode,
    ).toBe(403);
    const acked = await t.call('POST', `/v1/webhook-deliveries/${deliveryId}/ack`, {
      key: consumer.key,
    });
    expect(acked.statusCode, acked.body).toBe(200);
    expect(acked.json()).toMatchObject({ id: deliveryId, acknowledgedVia: 'api' });
    const again = await t.call('POST', `/v1/webhook-deliveries/${deliveryId}/ack`, {
      key: consumer.key,
    });
    expect(again.json<{ acknowledgedAt: string }>().acknowledgedAt).toBe(
      acked.json<{ acknowledgedAt: string }>().acknowledgedAt,
    );
    const createdDelivery = created.headers['custodian-delivery-id'] as string;
    const refused = await t.call('POST', `/v1/webhook-deliveries/${createdDelivery}/ack`);
    expect(refused.statusCode).toBe(409);
    expect(problemOf(refused).code).toBe('WEBHOOK_ACK_NOT_EXPECTED');

    const settled = await eventually(
      async () => {
        const d = (await t.call('GET', `/v1/privacy-requests/${request.id}`)).json<Detail>();
        const failed = d.downstream?.receipts.find((x) => x.endpointId === failing.id);
        return failed?.status === 'failed' ? d : undefined;
      },
      15_000,
      'the failing endpoint to be given up on',
    );
    const byEndpoint = new Map(settled.downstream!.receipts.map((x) => [x.endpointId, x]));
    expect(byEndpoint.get(ok.id)).toMatchObject({
      status: 'acknowledged',
      acknowledgedVia: 'response',
      lastStatusCode: 200,
    });
    expect(byEndpoint.get(later.id)).toMatchObject({
      status: 'acknowledged',
      acknowledgedVia: 'api',
      lastStatusCode: 202,
    });
    expect(byEndpoint.get(later.id)!.deliveredAt).not.toBeNull();
    expect(byEndpoint.get(failing.id)).toMatchObject({ status: 'failed', lastStatusCode: 500 });
    expect(byEndpoint.get(failing.id)!.failedAt).not.toBeNull();
    expect(byEndpoint.get(failing.id)!.attempts).toBeGreaterThanOrEqual(1);
    expect(settled.downstream).toMatchObject({
      confirmed: false,
      unconfirmedEndpointIds: [failing.id],
    });
  }, 90_000);

  it('are asked for by a single customer delete and by a bulk erasure too, naming no request', async () => {
    const { r } = await subscribedReceiver(() => 200, ['customer.erasure_requested']);
    const single = await newCustomer();
    const deleted = await t.call('DELETE', `/v1/customers/${single}`, {
      body: { confirm: 'DELETE' },
    });
    expect([200, 202], deleted.body).toContain(deleted.statusCode);
    const singleJob = deleted.json<{ job: { id: string } }>().job.id;
    expect((await jobWhenFinished(t, singleJob)).status).toBe('completed');
    const one = await arrival(r, about(single, 'customer.erasure_requested'), 'single erasure');
    expect(one.event.data).toEqual({ customerId: single, jobId: singleJob, privacyRequestIds: [] });

    const bulk = [await newCustomer(), await newCustomer()];
    const bulkJob = await startBulkErasure(t, { entity: 'customers', ids: bulk });
    expect((await jobWhenFinished(t, bulkJob)).status).toBe('completed');
    for (const customerId of bulk) {
      const got = await arrival(r, about(customerId, 'customer.erasure_requested'), 'bulk erasure');
      expect(got.event.data).toEqual({ customerId, jobId: bulkJob, privacyRequestIds: [] });
    }
  }, 60_000);
});

describe('with WEBHOOK_ERASURE_ACKS_REQUIRED', () => {
  it('completes an erasure request only once every subscribed system acknowledged it', async () => {
    const strict = await startTestApp({
      worker: true,
      config: testConfig({ WEBHOOK_ERASURE_ACKS_REQUIRED: 'true' }),
    });
    try {
      // Only this test's endpoint is told of the erasure.
      for (const id of endpointIds) {
        await t.call('PATCH', `/v1/webhooks/${id}`, { body: { enabled: false } });
      }
      const { r, id: endpointId } = await subscribedReceiver((e) =>
        e.type === 'customer.erasure_requested' ? 202 : 200,
      );
      const customerId = (await strict.create('/v1/customers', { name: `Strict ${uniqueWord()}` }))
        .id;
      const request = await strict.create<{ id: string }>('/v1/privacy-requests', { customerId });
      const erase = await strict.call('POST', `/v1/privacy-requests/${request.id}/erase`);
      const jobId = erase.json<{ job: { id: string } }>().job.id;
      expect((await jobWhenFinished(strict, jobId)).status).toBe('completed');
      const asked = await arrival(r, about(customerId, 'customer.erasure_requested'), 'erasure');
      // The erasure is done, the receipt is not: the request stays open.
      const waiting = await eventually(async () => {
        const d = (await strict.call('GET', `/v1/privacy-requests/${request.id}`)).json<Detail>();
        return d.downstream?.receipts[0]?.status === 'delivered' ? d : undefined;
      });
      expect(waiting.status).toBe('open');
      expect(waiting.downstream?.unconfirmedEndpointIds).toEqual([endpointId]);

      const acked = await strict.call(
        'POST',
        `/v1/webhook-deliveries/${asked.headers['custodian-delivery-id'] as string}/ack`,
      );
      expect(acked.statusCode, acked.body).toBe(200);
      const done = await eventually(
        async () => {
          const d = (await strict.call('GET', `/v1/privacy-requests/${request.id}`)).json<Detail>();
          return d.status === 'completed' ? d : undefined;
        },
        45_000,
        'the request to complete once acknowledged',
      );
      expect(done.completionRecord?.downstream).toMatchObject({
        confirmed: true,
        unconfirmedEndpointIds: [],
      });
    } finally {
      await strict.close();
    }
  }, 120_000);
});
