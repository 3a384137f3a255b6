/**
 * Webhooks end to end: endpoints managed through the API, events recorded with
 * the change that causes them, and delivered by the dispatcher to real HTTP
 * receivers on loopback — signed, retried, in order, paused by the breaker and
 * replayed on resume. Tests share one database, so an endpoint subscribed to
 * `customer.created` also receives other test files' customers: every
 * assertion looks at this test's own IDs.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCustomer } from '../../db/queries/customers';
import { createJob, transitionJob } from '../../db/queries/job-rows';
import { notifications, webhookEndpoints } from '../../db/schema';
import { startWebhookDispatcher, type WebhookDispatcher } from '../../webhooks/dispatcher';
import {
  eventually,
  problemOf,
  startTestApp,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';
import { jobWhenFinished } from '../job-helpers';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: { id: string; type: string; occurredAt: string; data: Record<string, unknown> };
  answered: number;
}

/** A real HTTP receiver on loopback; `answer` decides each status code. */
class Receiver {
  readonly received: Received[] = [];
  answer: (event: Received['event'], seen: number) => number = () => 200;
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const event = JSON.parse(body) as Received['event'];
        const seen = this.received.filter((r) => r.event.id === event.id).length;
        const answered = this.answer(event, seen);
        this.received.push({ headers: request.headers, body, event, answered });
        response.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** Events accepted (2xx) about these customers, in arrival order. */
  acceptedAbout(customerIds: string[]): Received[] {
    return this.received.filter(
      (r) => r.answered < 300 && customerIds.includes(r.event.data.customerId as string),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** What a consumer does with the header: true when one `v1` matches the secret. */
function verifies(header: string, body: string, secret: string): boolean {
  const parts = header.split(',');
  const t = parts.find((p) => p.startsWith('t='))!.slice(2);
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return parts.some((p) => p === `v1=${expected}`);
}

const BREAKER = 6;
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
      backoffBaseMs: 20,
      breakerThreshold: BREAKER,
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

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  receivers.push(r);
  return r;
}

async function subscribe(url: string, eventTypes: string[]) {
  const endpoint = await t.create<{ id: string; secret: string; status: string }>('/v1/webhooks', {
    url,
    eventTypes,
  });
  endpointIds.push(endpoint.id);
  return endpoint;
}

async function newCustomer(body: Record<string, unknown> = {}): Promise<string> {
  const response = await t.call('POST', '/v1/customers', {
    body: { name: 'Webhook Person', ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string }>().id;
}

const arrived = (r: Receiver, ids: string[], count: number, what: string) =>
  eventually(
    async () => {
      const got = r.acceptedAbout(ids);
      return got.length >= count ? got : undefined;
    },
    15_000,
    what,
  );

describe('webhook endpoints', () => {
  it('are created by admins with an HTTPS (or loopback) URL and known event types, the secret shown once', async () => {
    const created = await t.call('POST', '/v1/webhooks', {
      body: {
        url: 'https://crm.example/hooks',
        eventTypes: ['customer.merged', 'customer.deleted'],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const endpoint = created.json<{
      id: string;
      secret: string;
      status: string;
      eventTypes: string[];
    }>();
    endpointIds.push(endpoint.id);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    expect(endpoint.status).toBe('enabled');
    expect(endpoint.eventTypes).toEqual(['customer.merged', 'customer.deleted']);

    const got = await t.call('GET', `/v1/webhooks/${endpoint.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json()).not.toHaveProperty('secret');
    expect(got.json<{ url: string }>().url).toBe('https://crm.example/hooks');

    const refusals = [
      [
        { url: 'http://crm.example/hooks', eventTypes: ['customer.created'] },
        'WEBHOOK_URL_NOT_HTTPS',
      ],
      [{ url: 'not a url', eventTypes: ['customer.created'] }, 'WEBHOOK_URL_INVALID'],
      [
        { url: 'https://u:p@crm.example/', eventTypes: ['customer.created'] },
        'WEBHOOK_URL_INVALID',
      ],
      [
        { url: 'https://crm.example/', eventTypes: ['customer.exploded'] },
        'WEBHOOK_EVENT_TYPE_UNKNOWN',
      ],
    ] as const;
    const before = await t.db.$count(webhookEndpoints);
    for (const [body, code] of refusals) {
      const response = await t.call('POST', '/v1/webhooks', { body });
      expect(response.statusCode, JSON.stringify(body)).toBe(422);
      expect(problemOf(response).code).toBe(code);
    }
    const patched = await t.call('PATCH', `/v1/webhooks/${endpoint.id}`, {
      body: { eventTypes: ['nope'] },
    });
    expect(problemOf(patched).code).toBe('WEBHOOK_EVENT_TYPE_UNKNOWN');
    expect(await t.db.$count(webhookEndpoints)).toBe(before);

    const user = await userWithKey(t.db, { permissions: ['customers.write', 'gdpr.manage'] });
    const forbidden = await t.call('POST', '/v1/webhooks', {
      key: user.key,
      body: { url: 'https://crm.example/x', eventTypes: ['customer.created'] },
    });
    expect(forbidden.statusCode).toBe(403);
    expect((await t.call('GET', `/v1/webhooks/${endpoint.id}`, { key: user.key })).statusCode).toBe(
      403,
    );

    const disabled = await t.call('PATCH', `/v1/webhooks/${endpoint.id}`, {
      body: { enabled: false },
    });
    expect(disabled.json<{ status: string }>().status).toBe('disabled');
    expect((await t.call('DELETE', `/v1/webhooks/${endpoint.id}`)).statusCode).toBe(204);
    expect((await t.call('GET', `/v1/webhooks/${endpoint.id}`)).statusCode).toBe(404);
  });

  it('hold under dozens of parallel creates: each gets its own ID and secret', async () => {
    const responses = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        t.call('POST', '/v1/webhooks', {
          body: { url: `https://crm.example/${i}`, eventTypes: ['job.failed'], enabled: false },
        }),
      ),
    );
    const bodies = responses.map((r) => {
      expect(r.statusCode, r.body).toBe(201);
      return r.json<{ id: string; secret: string }>();
    });
    endpointIds.push(...bodies.map((b) => b.id));
    expect(new Set(bodies.map((b) => b.id)).size).toBe(24);
    expect(new Set(bodies.map((b) => b.secret)).size).toBe(24);
  });
});

describe('delivery', () => {
  it('POSTs a signed event carrying IDs only, verifiable with the secret; a rotated secret signs both ways during its grace', async () => {
    const r = await receiver();
    const endpoint = await subscribe(r.url, ['customer.created']);
    const word = uniqueWord('hook');
    const customerId = await newCustomer({
      name: `Hook ${word}`,
      emails: [{ address: `${word}@example.org` }],
    });
    const [delivery] = await arrived(r, [customerId], 1, 'the customer.created event');
    expect(delivery!.event).toMatchObject({ type: 'customer.created', data: { customerId } });
    expect(delivery!.headers['custodian-event-id']).toBe(delivery!.event.id);
    expect(delivery!.headers['custodian-event-type']).toBe('customer.created');
    const signature = delivery!.headers['custodian-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifies(signature, delivery!.body, endpoint.secret)).toBe(true);
    expect(
      verifies(signature, delivery!.body.replace(customerId, '0'.repeat(36)), endpoint.secret),
    ).toBe(false);
    expect(verifies(signature, delivery!.body, 'whsec_wrong')).toBe(false);
    // No personal data: the body and the stored event hold neither name nor email.
    expect(delivery!.body).not.toContain(word);
    const stored = await t.db.execute(
      sql`select payload as p from webhook_events where payload->>'customerId' = ${customerId}`,
    );
    expect(stored.rows.map((row) => row.p)).toEqual([{ customerId }]);

    const rotated = await t.call('POST', `/v1/webhooks/${endpoint.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    const newSecret = rotated.json<{ secret: string; previousSecretExpiresAt: string }>().secret;
    expect(newSecret).not.toBe(endpoint.secret);
    const next = await newCustomer();
    const [after] = await arrived(r, [next], 1, 'an event after rotation');
    const both = after!.headers['custodian-signature'] as string;
    expect(both).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(verifies(both, after!.body, newSecret)).toBe(true);
    expect(verifies(both, after!.body, endpoint.secret)).toBe(true);
  });

  it('retries a receiver that fails five times, delivering the event once accepted, with every attempt listed', async () => {
    const r = await receiver();
    r.answer = (_event, seen) => (seen < 5 ? 500 : 200);
    const endpoint = await subscribe(r.url, ['customer.updated']);
    const customerId = await newCustomer();
    expect(
      (await t.call('PATCH', `/v1/customers/${customerId}`, { body: { name: 'Renamed' } }))
        .statusCode,
    ).toBe(200);
    const [accepted] = await arrived(r, [customerId], 1, 'the update after five failures');
    const tries = r.received.filter((x) => x.event.id === accepted!.event.id);
    expect(tries.map((x) => x.answered)).toEqual([500, 500, 500, 500, 500, 200]);

    const deliveries = await eventually(async () => {
      const page = (await t.call('GET', `/v1/webhooks/${endpoint.id}/deliveries`)).json<{
        items: {
          id: string;
          eventId: string;
          status: string;
          attempts: number;
          attemptLog: { statusCode: number; errorClass: string | null; durationMs: number }[];
        }[];
      }>();
      const mine = page.items.find((d) => d.eventId === accepted!.event.id);
      return mine?.status === 'delivered' ? mine : undefined;
    });
    expect(deliveries.attempts).toBe(6);
    expect(deliveries.attemptLog.map((a) => [a.statusCode, a.errorClass])).toEqual([
      ...Array.from({ length: 5 }, () => [500, 'http_status']),
      [200, null],
    ]);

    const resent = await t.call('POST', `/v1/webhook-deliveries/${deliveries.id}/resend`);
    expect(resent.statusCode).toBe(202);
    await eventually(async () =>
      r.received.filter((x) => x.event.id === accepted!.event.id && x.answered === 200).length === 2
        ? true
        : undefined,
    );
  });

  it('keeps one endpoint’s events in order, across a receiver that fails now and then', async () => {
    const r = await receiver();
    let calls = 0;
    r.answer = () => (++calls % 3 === 0 ? 503 : 200);
    await subscribe(r.url, ['customer.created', 'customer.updated']);
    const customerId = await newCustomer();
    for (let i = 1; i <= 6; i++) {
      const response = await t.call('PATCH', `/v1/customers/${customerId}`, {
        body: { name: `Name ${i}` },
      });
      expect(response.statusCode).toBe(200);
    }
    const got = await arrived(r, [customerId], 7, 'seven events of one customer');
    expect(got.map((x) => x.event.type)).toEqual([
      'customer.created',
      ...Array<string>(6).fill('customer.updated'),
    ]);
    const stored = await t.db.execute<{ id: string }>(
      sql`select id from webhook_events where payload->>'customerId' = ${customerId} order by occurred_at, id`,
    );
    expect(new Set(got.map((x) => x.event.id)).size).toBe(7);
    const occurred = got.map((x) => x.event.occurredAt);
    expect([...occurred].sort()).toEqual(occurred);
    expect(stored.rows).toHaveLength(7);
  });

  it(`pauses an endpoint after ${BREAKER} failures in a row, tells admins, and replays what it missed in order on resume`, async () => {
    const r = await receiver();
    r.answer = () => 503;
    const endpoint = await subscribe(r.url, ['customer.created']);
    const ids = [await newCustomer(), await newCustomer(), await newCustomer()];
    await eventually(
      async () => {
        const got = (await t.call('GET', `/v1/webhooks/${endpoint.id}`)).json<{ status: string }>();
        return got.status === 'paused' ? got : undefined;
      },
      15_000,
      'the endpoint to be paused',
    );
    const attemptsWhenPaused = r.received.length;
    expect(attemptsWhenPaused).toBe(BREAKER);
    const notice = await t.db
      .select()
      .from(notifications)
      .where(eq(notifications.userId, t.adminId));
    expect(
      notice.filter((n) => n.kind === 'webhook_paused' && n.body.includes(endpoint.id)),
    ).toHaveLength(1);
    // Paused, it still queues events, and sends none.
    const missed = await newCustomer();
    ids.push(missed);
    expect(r.received.length).toBe(attemptsWhenPaused);

    r.answer = () => 200;
    const resumed = await t.call('POST', `/v1/webhooks/${endpoint.id}/resume`);
    expect(resumed.json<{ status: string; consecutiveFailures: number }>()).toMatchObject({
      status: 'enabled',
      consecutiveFailures: 0,
    });
    const got = await arrived(r, ids, 4, 'the four missed events');
    expect(got.map((x) => x.event.data.customerId)).toEqual(ids);
  });

  it('delivers exactly one event per customer when dozens are created at once', async () => {
    const r = await receiver();
    await subscribe(r.url, ['customer.created']);
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) => newCustomer({ name: `Parallel ${i}` })),
    );
    const got = await arrived(r, ids, 30, 'thirty customer.created events');
    expect(new Set(got.map((x) => x.event.id)).size).toBe(30);
    expect(new Set(got.map((x) => x.event.data.customerId)).size).toBe(30);
  });

  it('announces a deletion and its job, with IDs only', async () => {
    const r = await receiver();
    await subscribe(r.url, ['customer.deleted', 'job.completed']);
    const word = uniqueWord('gone');
    const customerId = await newCustomer({ name: `Gone ${word}` });
    const response = await t.call('DELETE', `/v1/customers/${customerId}`, {
      body: { confirm: 'DELETE' },
    });
    expect([200, 202]).toContain(response.statusCode);
    const jobId = response.json<{ job: { id: string } }>().job.id;
    expect((await jobWhenFinished(t, jobId)).status).toBe('completed');
    const deleted = await arrived(r, [customerId], 1, 'customer.deleted');
    expect(deleted[0]!.event).toMatchObject({
      type: 'customer.deleted',
      data: { customerId, jobId },
    });
    const completed = await eventually(async () =>
      r.received.find((x) => x.event.type === 'job.completed' && x.event.data.jobId === jobId),
    );
    expect(completed.event.data).toEqual({ jobId, jobType: 'delete' });
    expect(r.received.map((x) => x.body).join('\n')).not.toContain(word);
  });

  it('announces a merge with the survivor and the merged-away IDs', async () => {
    const r = await receiver();
    await subscribe(r.url, ['customer.merged']);
    const [source, target] = [await newCustomer(), await newCustomer()];
    const started = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: source, targetCustomerId: target },
    });
    expect(started.statusCode, started.body).toBe(201);
    const jobId = started.json<{ job: { id: string } }>().job.id;
    const confirmed = await t.call('POST', `/v1/merges/${jobId}/confirm`);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const merged = await eventually(async () =>
      r.received.find((x) => x.event.type === 'customer.merged' && x.event.data.jobId === jobId),
    );
    expect(merged.event.data).toEqual({
      jobId,
      survivorCustomerId: target,
      mergedCustomerId: source,
      conversations: 0,
      kobjects: 0,
      events: 0,
      emailsAdded: 0,
      phonesAdded: 0,
    });
  });
});

describe('the outbox', () => {
  it('announces a job ending failed once, with its error code, however often the end is recorded', async () => {
    const r = await receiver();
    await subscribe(r.url, ['job.failed']);
    const jobId = randomUUID();
    await createJob(t.db, {
      id: jobId,
      type: 'delete',
      startedBy: t.adminId,
      params: { entity: 'customer', id: randomUUID() },
      workflowId: `delete-${jobId}`,
    });
    const fail = () =>
      transitionJob(t.db, jobId, ['pending', 'running'], 'failed', {
        error: { code: 'SEARCH_UNAVAILABLE', message: 'Search is unavailable.' },
      });
    expect(await fail()).toBe(true);
    expect(await fail()).toBe(false);
    const failed = await eventually(async () =>
      r.received.find((x) => x.event.type === 'job.failed' && x.event.data.jobId === jobId),
    );
    expect(failed.event.data).toEqual({
      jobId,
      jobType: 'delete',
      errorCode: 'SEARCH_UNAVAILABLE',
    });
    const stored = await t.db.execute(
      sql`select count(*)::int as n from webhook_events where payload->>'jobId' = ${jobId}`,
    );
    expect(stored.rows).toEqual([{ n: 1 }]);
  });

  it('records an event only if the change that causes it commits', async () => {
    const r = await receiver();
    await subscribe(r.url, ['customer.created']);
    let rolledBack = '';
    await expect(
      t.db.transaction(async (tx) => {
        rolledBack = (await createCustomer(tx, { name: 'Never was', emails: [], phones: [] })).id;
        throw new Error('the caller fails after the create');
      }),
    ).rejects.toThrow('the caller fails');
    const kept = (await createCustomer(t.db, { name: 'Is', emails: [], phones: [] })).id;
    await arrived(r, [kept], 1, 'the committed create');
    const events = await t.db.execute<{ customer: string }>(
      sql`select payload->>'customerId' as customer from webhook_events
          where payload->>'customerId' in (${rolledBack}, ${kept})`,
    );
    expect(events.rows).toEqual([{ customer: kept }]);
    expect(r.acceptedAbout([rolledBack])).toEqual([]);
  });
});
