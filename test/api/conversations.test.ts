import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApp, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const post = <T = { id: string }>(url: string, body: unknown) => t.create<T>(url, body);

const newCustomer = () =>
  post<{ id: string; lastActivityAt: string }>('/v1/customers', { name: 'Alan Turing' });

describe('conversations', () => {
  it('creates a conversation with messages, adds one, and changes its status', async () => {
    const customer = await newCustomer();
    const created = await post<{ id: string; status: string; messages: unknown[] }>(
      `/v1/customers/${customer.id}/conversations`,
      {
        channel: 'email',
        subject: 'Invoice question',
        messages: [{ direction: 'inbound', body: 'Where is my invoice?' }],
      },
    );
    expect(created).toMatchObject({
      status: 'open',
      messages: [{ direction: 'inbound', body: 'Where is my invoice?' }],
    });

    const sentAt = new Date(Date.now() + 60_000).toISOString();
    await post(`/v1/conversations/${created.id}/messages`, {
      direction: 'outbound',
      body: 'Attached.',
      sentAt,
    });
    const patched = await t.call('PATCH', `/v1/conversations/${created.id}`, {
      body: { status: 'done' },
    });
    expect(patched.json()).toMatchObject({ status: 'done' });

    const fetched = (await t.call('GET', `/v1/conversations/${created.id}`)).json<{
      status: string;
      messages: { body: string }[];
    }>();
    expect(fetched.status).toBe('done');
    expect(fetched.messages.map((m) => m.body)).toEqual(['Where is my invoice?', 'Attached.']);

    const after = (await t.call('GET', `/v1/customers/${customer.id}`)).json<{
      lastActivityAt: string;
    }>();
    expect(Date.parse(after.lastActivityAt)).toBeGreaterThanOrEqual(Date.parse(sentAt));
  });

  it('answers 404 for a conversation on an unknown customer and writes nothing', async () => {
    const ghost = randomUUID();
    const response = await t.call('POST', `/v1/customers/${ghost}/conversations`, {
      body: { channel: 'chat' },
    });
    expect(response.statusCode).toBe(404);
    expect(problemOf(response).code).toBe('CUSTOMER_NOT_FOUND');
    expect(
      (
        await t.call('POST', `/v1/conversations/${randomUUID()}/messages`, {
          body: { direction: 'inbound', body: 'x' },
        })
      ).statusCode,
    ).toBe(404);
  });

  it.each([
    ['an unknown channel', { channel: 'pigeon' }],
    ['an unknown status', { channel: 'chat', status: 'closed' }],
    ['a message without a body', { channel: 'chat', messages: [{ direction: 'inbound' }] }],
  ])('refuses %s with 400', async (_what, body) => {
    const customer = await newCustomer();
    const response = await t.call('POST', `/v1/customers/${customer.id}/conversations`, { body });
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).code).toBe('VALIDATION_FAILED');
  });
});

describe('klasses and KObjects', () => {
  it('defines a klass, creates a KObject of it on a customer and reads it back', async () => {
    const name = `order_${randomUUID().slice(0, 8)}`;
    await post('/v1/klasses', { name, title: 'Order' });
    const klasses = (await t.call('GET', '/v1/klasses')).json<{ items: { name: string }[] }>();
    expect(klasses.items.map((k) => k.name)).toContain(name);

    const customer = await newCustomer();
    const kobject = await post<{ id: string }>(`/v1/customers/${customer.id}/kobjects`, {
      klass: name,
      title: 'Order #1001',
      data: { total: 42.5, items: ['book'] },
    });
    const fetched = await t.call('GET', `/v1/kobjects/${kobject.id}`);
    expect(fetched.json()).toMatchObject({
      customerId: customer.id,
      klass: name,
      title: 'Order #1001',
      data: { total: 42.5, items: ['book'] },
    });
  });

  it('refuses a duplicate klass (409), an unknown klass (422) and an unknown KObject (404)', async () => {
    const name = `ticket_${randomUUID().slice(0, 8)}`;
    await post('/v1/klasses', { name, title: 'Ticket' });
    const duplicate = await t.call('POST', '/v1/klasses', { body: { name, title: 'Again' } });
    expect(problemOf(duplicate)).toMatchObject({ status: 409, code: 'KLASS_NAME_TAKEN' });

    const customer = await newCustomer();
    const unknown = await t.call('POST', `/v1/customers/${customer.id}/kobjects`, {
      body: { klass: 'nope_never', title: 'X' },
    });
    expect(problemOf(unknown)).toMatchObject({ status: 422, code: 'KLASS_NOT_FOUND' });
    const timeline = await t.call('GET', `/v1/customers/${customer.id}/timeline`);
    expect(timeline.json<{ items: unknown[] }>().items).toHaveLength(0);

    const missing = await t.call('GET', `/v1/kobjects/${randomUUID()}`);
    expect(problemOf(missing)).toMatchObject({ status: 404, code: 'KOBJECT_NOT_FOUND' });
    const badName = await t.call('POST', '/v1/klasses', {
      body: { name: 'Has Spaces', title: 'X' },
    });
    expect(badName.statusCode).toBe(400);
  });
});
