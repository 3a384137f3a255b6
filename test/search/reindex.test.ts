import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, uniqueWord, type TestApp } from '../helpers';

/** Writes that change what other documents copy must re-index those documents too. */
let t: TestApp;
let klass: string;
beforeAll(async () => {
  t = await startTestApp({ worker: true });
  klass = `k${uniqueWord('')}`;
  await t.create('/v1/klasses', { name: klass, title: 'Ticket' });
});
afterAll(() => t.close());

interface Hit {
  id: string;
  customerName?: string;
}

async function hits(path: string): Promise<Hit[]> {
  const response = await t.call('GET', path);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ hits: Hit[] }>().hits;
}

/** Waits until the search answers exactly these IDs, in this order. */
const expectOrder = (path: string, ids: string[]) =>
  eventually(
    async () => {
      const found = (await hits(path)).map((h) => h.id);
      return JSON.stringify(found) === JSON.stringify(ids) ? true : undefined;
    },
    10_000,
    `${path} → ${ids.join(', ')}`,
  );

/** Waits until the search answers exactly these IDs, in any order. */
const expectIds = (path: string, ids: string[]) =>
  eventually(
    async () => {
      const found = (await hits(path)).map((h) => h.id).sort();
      return JSON.stringify(found) === JSON.stringify([...ids].sort()) ? true : undefined;
    },
    10_000,
    `${path} → ${ids.join(', ')}`,
  );

describe('customer documents follow timeline activity', () => {
  it('sorts customers by their latest conversation, KObject or message', async () => {
    const word = uniqueWord('active');
    const first = await t.create(`/v1/customers`, { name: `First ${word}` });
    const second = await t.create(`/v1/customers`, { name: `Second ${word}` });
    const recent = `/v1/search/customers?q=${word}&sort=lastActivityAt:desc`;
    await expectOrder(recent, [second.id, first.id]);

    const conversation = await t.create(`/v1/customers/${first.id}/conversations`, {
      channel: 'chat',
    });
    await expectOrder(recent, [first.id, second.id]);

    await t.create(`/v1/customers/${second.id}/kobjects`, { klass, title: 'Ticket 1' });
    await expectOrder(recent, [second.id, first.id]);

    await t.create(`/v1/conversations/${conversation.id}/messages`, {
      direction: 'inbound',
      body: 'Any news?',
    });
    await expectOrder(recent, [first.id, second.id]);
  });
});

describe('items copy their customer name', () => {
  it('re-indexes conversations and KObjects under a renamed customer', async () => {
    const before = uniqueWord('oldowner');
    const after = uniqueWord('newowner');
    const customer = await t.create(`/v1/customers`, { name: `Owner ${before}` });
    const conversations = await Promise.all(
      [1, 2, 3].map((n) =>
        t.create(`/v1/customers/${customer.id}/conversations`, {
          channel: 'email',
          subject: `Thread ${n}`,
        }),
      ),
    );
    const kobject = await t.create(`/v1/customers/${customer.id}/kobjects`, {
      klass,
      title: 'Ticket 2',
    });
    const conversationIds = conversations.map((c) => c.id);
    await expectIds(`/v1/search/conversations?q=${before}`, conversationIds);
    await expectIds(`/v1/search/kobjects?q=${before}`, [kobject.id]);

    const renamed = await t.call('PATCH', `/v1/customers/${customer.id}`, {
      body: { name: `Owner ${after}` },
    });
    expect(renamed.statusCode).toBe(200);

    await expectIds(`/v1/search/kobjects?q=${after}`, [kobject.id]);
    await expectIds(`/v1/search/kobjects?q=${before}`, []);
    await expectIds(`/v1/search/conversations?q=${after}`, conversationIds);
    await expectIds(`/v1/search/conversations?q=${before}`, []);
    const [hit] = await hits(`/v1/search/kobjects?q=${after}`);
    expect(hit?.customerName).toBe(`Owner ${after}`);
  });
});
