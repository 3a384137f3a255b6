import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAttributes, problemOf, startTestApp, uniqueName, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await defineAttributes(t, 'company', { tier: 'number' });
});
afterAll(() => t.close());

interface Card {
  customer: { id: string; name: string };
  conversationCounts: { open: number; snoozed: number; done: number };
  recentItems: { id: string; type: string }[];
}

const post = <T = { id: string }>(url: string, body: unknown) => t.create<T>(url, body);

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 12, minutes)).toISOString();

/** A conversation whose last activity is the given minute of a fixed day. */
const conversation = (customerId: string, status: string, minute: number) =>
  post<{ id: string }>(`/v1/customers/${customerId}/conversations`, {
    channel: 'chat',
    subject: `${status} at ${minute}`,
    status,
    createdAt: at(minute),
  });

describe('companies', () => {
  it('creates, reads and renames a company; names are unique whatever their case', async () => {
    const name = uniqueName('Initech');
    const company = await post<{ id: string; name: string }>('/v1/companies', {
      name,
      customAttributes: { tier: 1 },
    });
    expect((await t.call('GET', `/v1/companies/${company.id}`)).json()).toMatchObject({
      name,
      customAttributes: { tier: 1 },
    });
    const duplicate = await t.call('POST', '/v1/companies', {
      body: { name: ` ${name.toUpperCase()} ` },
    });
    expect(duplicate.statusCode).toBe(409);
    expect(problemOf(duplicate).code).toBe('COMPANY_NAME_TAKEN');
    const renamed = await t.call('PATCH', `/v1/companies/${company.id}`, {
      body: { name: `${name} Ltd` },
    });
    expect(renamed.json()).toMatchObject({ name: `${name} Ltd` });
  });

  it('refuses to delete a company with 405 COMPANY_NOT_DELETABLE and keeps it', async () => {
    const company = await post<{ id: string }>('/v1/companies', { name: uniqueName('Keep') });
    const response = await t.call('DELETE', `/v1/companies/${company.id}`);
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, PATCH');
    expect(problemOf(response).code).toBe('COMPANY_NOT_DELETABLE');
    expect((await t.call('GET', `/v1/companies/${company.id}`)).statusCode).toBe(200);
    expect((await t.call('DELETE', `/v1/companies/${randomUUID()}`)).statusCode).toBe(404);
  });

  it('shows customers as cards by recent activity with status counts and their 5 most recent items', async () => {
    const company = await post<{ id: string }>('/v1/companies', { name: uniqueName('Globex') });
    const quiet = await post<{ id: string }>('/v1/customers', {
      name: 'Quiet',
      companyId: company.id,
    });
    const busy = await post<{ id: string }>('/v1/customers', {
      name: 'Busy',
      companyId: company.id,
    });
    await post('/v1/customers', { name: 'Elsewhere' });

    await conversation(quiet.id, 'done', 1);
    const busyItems = [];
    for (const [minute, status] of [
      [2, 'open'],
      [3, 'open'],
      [4, 'snoozed'],
      [5, 'done'],
      [6, 'done'],
      [7, 'done'],
    ] as const) {
      busyItems.push(await conversation(busy.id, status, minute));
    }
    // Activity now (after the fixed day) puts Quiet first.
    await post(`/v1/customers/${quiet.id}/kobjects`, { klass: await klass(), title: 'Order #7' });

    const response = await t.call('GET', `/v1/companies/${company.id}/timeline`);
    expect(response.statusCode).toBe(200);
    const cards = response.json<{ items: Card[] }>().items;
    expect(cards.map((c) => c.customer.name)).toEqual(['Quiet', 'Busy']);
    expect(cards[0]!.conversationCounts).toEqual({ open: 0, snoozed: 0, done: 1 });
    expect(cards[1]!.conversationCounts).toEqual({ open: 2, snoozed: 1, done: 3 });
    expect(cards[1]!.recentItems.map((i) => i.id)).toEqual(
      busyItems
        .slice(1)
        .reverse()
        .map((c) => c.id),
    );
    expect(cards[0]!.recentItems.map((i) => i.type)).toEqual(['kobject', 'conversation']);
  });

  it('lists its customer directory by name, optionally only those with open conversations', async () => {
    const company = await post<{ id: string }>('/v1/companies', { name: uniqueName('Umbrella') });
    const names = ['Carol', 'alice', 'Bob'];
    const ids: Record<string, string> = {};
    for (const name of names)
      ids[name] = (await post<{ id: string }>('/v1/customers', { name, companyId: company.id })).id;
    await conversation(ids.Carol!, 'open', 1);
    await conversation(ids.Bob!, 'done', 1);

    const all = await t.call('GET', `/v1/companies/${company.id}/customers`);
    expect(all.json<{ items: { name: string }[] }>().items.map((c) => c.name)).toEqual([
      'alice',
      'Bob',
      'Carol',
    ]);
    const open = await t.call('GET', `/v1/companies/${company.id}/customers?filter=open`);
    expect(open.json<{ items: { name: string; openConversations: number }[] }>().items).toEqual([
      expect.objectContaining({ name: 'Carol', openConversations: 1 }),
    ]);
    const bad = await t.call('GET', `/v1/companies/${company.id}/customers?filter=closed`);
    expect(bad.statusCode).toBe(400);
  });
});

let klassName: string | undefined;
async function klass(): Promise<string> {
  if (!klassName) {
    klassName = `order_${randomUUID().slice(0, 8)}`;
    await post('/v1/klasses', { name: klassName, title: 'Order' });
  }
  return klassName;
}
