import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApp, type TestApp } from '../helpers';

let t: TestApp;
let klass: string;
beforeAll(async () => {
  t = await startTestApp();
  klass = `order_${randomUUID().slice(0, 8)}`;
  await t.call('POST', '/v1/klasses', { body: { name: klass, title: 'Order' } });
});
afterAll(() => t.close());

interface Item {
  id: string;
  type: string;
  pinned: boolean;
}

const post = <T = { id: string }>(url: string, body: unknown) => t.create<T>(url, body);

async function timeline(customerId: string, limit = 100): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | null = null;
  do {
    const response = await t.call(
      'GET',
      `/v1/customers/${customerId}/timeline?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(response.statusCode).toBe(200);
    const page = response.json<{ items: Item[]; nextCursor: string | null }>();
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

describe('customer timeline', () => {
  it('shows pinned items first, then the most recent activity, the same on every page size', async () => {
    const customer = await post<{ id: string }>('/v1/customers', { name: 'Timeline Owner' });
    const day = (minute: number) => new Date(Date.UTC(2025, 5, 1, 9, minute)).toISOString();
    const c1 = await post<{ id: string }>(`/v1/customers/${customer.id}/conversations`, {
      channel: 'email',
      createdAt: day(1),
    });
    const c2 = await post<{ id: string }>(`/v1/customers/${customer.id}/conversations`, {
      channel: 'chat',
      createdAt: day(2),
    });
    const c3 = await post<{ id: string }>(`/v1/customers/${customer.id}/conversations`, {
      channel: 'sms',
      createdAt: day(3),
    });
    const k1 = await post<{ id: string }>(`/v1/customers/${customer.id}/kobjects`, {
      klass,
      title: 'Newest',
    });

    expect((await timeline(customer.id)).map((i) => i.id)).toEqual([k1.id, c3.id, c2.id, c1.id]);

    // A reply brings the oldest conversation to the top of the unpinned items.
    await post(`/v1/conversations/${c1.id}/messages`, {
      direction: 'inbound',
      body: 'ping',
      sentAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect((await timeline(customer.id)).map((i) => i.id)).toEqual([c1.id, k1.id, c3.id, c2.id]);

    expect((await t.call('PUT', `/v1/conversations/${c2.id}/pin`)).statusCode).toBe(204);
    expect((await t.call('PUT', `/v1/kobjects/${k1.id}/pin`)).statusCode).toBe(204);
    const expected = [k1.id, c2.id, c1.id, c3.id];
    const pinnedFirst = await timeline(customer.id);
    expect(pinnedFirst.map((i) => i.id)).toEqual(expected);
    expect(pinnedFirst.map((i) => i.pinned)).toEqual([true, true, false, false]);
    for (const size of [1, 2, 3]) {
      expect((await timeline(customer.id, size)).map((i) => i.id)).toEqual(expected);
    }

    // Pins are shared: another user sees the same order.
    const readers = await post<{ id: string }>('/v1/permission-sets', {
      name: `Timeline readers ${randomUUID()}`,
      permissions: ['customers.read', 'conversations.read', 'kobjects.read'],
    });
    const other = await post<{ id: string }>('/v1/users', {
      name: 'Colleague',
      email: `${randomUUID()}@example.com`,
      permissionSetIds: [readers.id],
    });
    const { key } = await post<{ key: string }>(`/v1/users/${other.id}/api-keys`, { name: 'k' });
    const seenByOther = await t.call('GET', `/v1/customers/${customer.id}/timeline`, { key });
    expect(seenByOther.json<{ items: Item[] }>().items.map((i) => i.id)).toEqual(expected);

    expect((await t.call('DELETE', `/v1/kobjects/${k1.id}/pin`)).statusCode).toBe(204);
    expect((await timeline(customer.id)).map((i) => i.id)).toEqual([c2.id, c1.id, k1.id, c3.id]);
  });

  it('answers 404 for the timeline of an unknown customer and for pinning an unknown item', async () => {
    expect(problemOf(await t.call('GET', `/v1/customers/${randomUUID()}/timeline`)).code).toBe(
      'CUSTOMER_NOT_FOUND',
    );
    expect(problemOf(await t.call('PUT', `/v1/conversations/${randomUUID()}/pin`)).code).toBe(
      'CONVERSATION_NOT_FOUND',
    );
    expect(problemOf(await t.call('PUT', `/v1/kobjects/${randomUUID()}/pin`)).code).toBe(
      'KOBJECT_NOT_FOUND',
    );
  });
});
