import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSearchSync } from '../../db/queries/search-outbox';
import {
  eventually,
  problemOf,
  startTestApp,
  uniqueName,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: true });
});
afterAll(() => t.close());

interface Hit {
  id: string;
  [key: string]: unknown;
}

const post = <T = { id: string }>(url: string, body: unknown) => t.create<T>(url, body);

async function search(path: string): Promise<Hit[]> {
  const response = await t.call('GET', path);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ hits: Hit[] }>().hits;
}

/** Waits until the search answers with exactly these IDs (in any order). */
function expectSearch(path: string, ids: string[]) {
  return eventually(
    async () => {
      const hits = await search(path);
      const found = hits.map((h) => h.id).sort();
      return JSON.stringify(found) === JSON.stringify([...ids].sort()) ? hits : undefined;
    },
    10_000,
    `${path} → ${ids.join(', ')}`,
  );
}

describe('customer search', () => {
  it('finds a customer by a misspelt name, within its company', async () => {
    const company = await post('/v1/companies', { name: uniqueName('Searchable') });
    const surname = uniqueWord('brontewh');
    const customer = await post('/v1/customers', {
      name: `Philippa ${surname}`,
      companyId: company.id,
    });
    await post('/v1/customers', { name: `Philippa ${surname}` });
    const misspelt = surname.slice(0, -2) + surname.at(-1)! + surname.at(-2)!;
    const hits = await expectSearch(`/v1/search/customers?q=${misspelt}&company=${company.id}`, [
      customer.id,
    ]);
    expect(hits[0]).toMatchObject({ name: `Philippa ${surname}`, companyId: company.id });
  });

  it('matches an email exactly, not its neighbours', async () => {
    const domain = `${uniqueWord()}.example`;
    const ada = await post('/v1/customers', {
      name: 'Ada',
      emails: [{ address: `ada.byron@${domain}` }],
    });
    const other = await post('/v1/customers', {
      name: 'Adam',
      emails: [{ address: `adam.byron@${domain}` }],
    });
    await expectSearch(`/v1/search/customers?q=${encodeURIComponent(`ada.byron@${domain}`)}`, [
      ada.id,
    ]);
    await expectSearch(`/v1/search/customers?q=${encodeURIComponent(`adam.byron@${domain}`)}`, [
      other.id,
    ]);
  });

  it('matches a phone number whatever its spelling, a national one read in the default region', async () => {
    const digits = `207${Math.floor(100_0000 + Math.random() * 899_9999)}`;
    const formatted = `+44 ${digits.slice(0, 2)} ${digits.slice(2, 6)} ${digits.slice(6)}`;
    const customer = await post<Hit & { phones: unknown }>('/v1/customers', {
      name: 'Caller',
      phones: [{ number: formatted }],
    });
    await expectSearch(`/v1/search/customers?q=${encodeURIComponent(`+44${digits}`)}`, [
      customer.id,
    ]);
    await expectSearch(
      `/v1/search/customers?q=${encodeURIComponent(`0044 (${digits.slice(0, 2)}) ${digits.slice(2)}`)}`,
      [customer.id],
    );
    await expectSearch(
      `/v1/search/customers?q=${encodeURIComponent(`0${digits.slice(0, 2)} ${digits.slice(2, 6)} ${digits.slice(6)}`)}`,
      [customer.id],
    );
    const other = `7${Math.floor(100_0000 + Math.random() * 899_9999)}`;
    const national = await post('/v1/customers', {
      name: 'Caller at home',
      phones: [{ number: `020-${other.slice(0, 4)}-${other.slice(4)}` }],
    });
    await expectSearch(`/v1/search/customers?q=${encodeURIComponent(`+4420${other}`)}`, [
      national.id,
    ]);
  });

  it('follows updates: a renamed customer is found by its new name only', async () => {
    const before = uniqueWord('oldname');
    const after = uniqueWord('newname');
    const customer = await post('/v1/customers', { name: `Kim ${before}` });
    await expectSearch(`/v1/search/customers?q=${before}`, [customer.id]);
    await t.call('PATCH', `/v1/customers/${customer.id}`, { body: { name: `Kim ${after}` } });
    await expectSearch(`/v1/search/customers?q=${after}`, [customer.id]);
    await expectSearch(`/v1/search/customers?q=${before}`, []);
  });

  it('drops a deleted customer from the results', async () => {
    const word = uniqueWord('gone');
    const customer = await post('/v1/customers', { name: `Erased ${word}` });
    await expectSearch(`/v1/search/customers?q=${word}`, [customer.id]);
    await t.db.transaction(async (tx) => {
      await tx.execute(sql`delete from customers where id = ${customer.id}`);
      await enqueueSearchSync(tx, 'customer', [customer.id]);
    });
    await expectSearch(`/v1/search/customers?q=${word}`, []);
  });
});

describe('conversation and KObject search', () => {
  it('filters conversations by status, channel and customer, and KObjects by klass', async () => {
    const topic = uniqueWord('topic');
    const customer = await post('/v1/customers', { name: 'Filtered' });
    const open = await post(`/v1/customers/${customer.id}/conversations`, {
      channel: 'email',
      subject: `${topic} refund`,
    });
    const done = await post(`/v1/customers/${customer.id}/conversations`, {
      channel: 'chat',
      subject: `${topic} shipping`,
      status: 'done',
    });
    await expectSearch(`/v1/search/conversations?q=${topic}`, [open.id, done.id]);
    await expectSearch(`/v1/search/conversations?q=${topic}&status=done`, [done.id]);
    await expectSearch(
      `/v1/search/conversations?q=${topic}&channel=email&customer=${customer.id}`,
      [open.id],
    );

    const klass = `k${uniqueWord('')}`;
    await post('/v1/klasses', { name: klass, title: 'Thing' });
    const thing = await post(`/v1/customers/${customer.id}/kobjects`, {
      klass,
      title: `${topic} box`,
    });
    const hits = await expectSearch(`/v1/search/kobjects?q=${topic}&klass=${klass}`, [thing.id]);
    expect(hits[0]).toMatchObject({ klass, customerId: customer.id, customerName: 'Filtered' });
  });

  it('sorts by last activity', async () => {
    const topic = uniqueWord('sorted');
    const customer = await post('/v1/customers', { name: 'Sorter' });
    const first = await post(`/v1/customers/${customer.id}/conversations`, {
      channel: 'sms',
      subject: topic,
      createdAt: '2020-01-01T00:00:00Z',
    });
    const second = await post(`/v1/customers/${customer.id}/conversations`, {
      channel: 'sms',
      subject: topic,
      createdAt: '2021-01-01T00:00:00Z',
    });
    await expectSearch(`/v1/search/conversations?q=${topic}`, [first.id, second.id]);
    const newest = await search(`/v1/search/conversations?q=${topic}&sort=lastActivityAt:desc`);
    expect(newest.map((h) => h.id)).toEqual([second.id, first.id]);
    const oldest = await search(`/v1/search/conversations?q=${topic}&sort=lastActivityAt:asc`);
    expect(oldest.map((h) => h.id)).toEqual([first.id, second.id]);
  });
});

describe('search refusals', () => {
  it('needs searches.read', async () => {
    const member = await userWithKey(t.db);
    const response = await t.call('GET', '/v1/search/customers?q=x', { key: member.key });
    expect(response.statusCode).toBe(403);
    expect(problemOf(response).code).toBe('FORBIDDEN');
  });

  it.each([
    ['an unknown filter', '/v1/search/customers?status=open'],
    ['a malformed filter value', '/v1/search/conversations?channel=pigeon'],
    ['an unknown sort', '/v1/search/kobjects?sort=title'],
    ['a page too large', '/v1/search/customers?limit=1000'],
  ])('refuses %s with 400', async (_what, path) => {
    const response = await t.call('GET', path);
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).code).toBe('VALIDATION_FAILED');
  });
});

/** What a user of saved searches holds: searching, and reading what the indexes find. */
const searcher = ['searches.read', 'customers.read', 'conversations.read', 'kobjects.read'];

describe('saved searches', () => {
  it('are created, listed, changed, run and deleted by their owner only', async () => {
    const owner = await userWithKey(t.db, { permissions: searcher });
    const stranger = await userWithKey(t.db, { permissions: searcher });
    const topic = uniqueWord('saved');
    const customer = await post('/v1/customers', { name: 'Saver' });
    const open = await post(`/v1/customers/${customer.id}/conversations`, {
      channel: 'email',
      subject: topic,
    });
    const done = await post(`/v1/customers/${customer.id}/conversations`, {
      channel: 'email',
      subject: topic,
      status: 'done',
    });
    await expectSearch(`/v1/search/conversations?q=${topic}`, [open.id, done.id]);

    const created = await t.call('POST', '/v1/saved-searches', {
      key: owner.key,
      body: { name: 'Open ones', index: 'conversations', q: topic, filters: { status: 'open' } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const saved = created.json<{ id: string }>();

    const results = await t.call('GET', `/v1/saved-searches/${saved.id}/results`, {
      key: owner.key,
    });
    expect(results.json<{ hits: Hit[] }>().hits.map((h) => h.id)).toEqual([open.id]);
    expect(
      (await t.call('GET', '/v1/saved-searches', { key: owner.key }))
        .json<{ items: Hit[] }>()
        .items.map((s) => s.id),
    ).toEqual([saved.id]);
    expect(
      (await t.call('GET', `/v1/saved-searches/${saved.id}`, { key: stranger.key })).statusCode,
    ).toBe(404);

    const changed = await t.call('PATCH', `/v1/saved-searches/${saved.id}`, {
      key: owner.key,
      body: { filters: { status: 'done' } },
    });
    expect(changed.json()).toMatchObject({ filters: { status: 'done' } });
    const rerun = await t.call('GET', `/v1/saved-searches/${saved.id}/results`, { key: owner.key });
    expect(rerun.json<{ hits: Hit[] }>().hits.map((h) => h.id)).toEqual([done.id]);

    expect(
      (await t.call('DELETE', `/v1/saved-searches/${saved.id}`, { key: stranger.key })).statusCode,
    ).toBe(404);
    expect(
      (await t.call('DELETE', `/v1/saved-searches/${saved.id}`, { key: owner.key })).statusCode,
    ).toBe(204);
    expect(
      (await t.call('GET', `/v1/saved-searches/${saved.id}`, { key: owner.key })).statusCode,
    ).toBe(404);
  });

  it('refuses filters the index does not have, and nothing is saved', async () => {
    const owner = await userWithKey(t.db, { permissions: searcher });
    const response = await t.call('POST', '/v1/saved-searches', {
      key: owner.key,
      body: { name: 'Bad', index: 'customers', filters: { channel: 'email' } },
    });
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).code).toBe('UNKNOWN_FILTER');
    expect(
      (await t.call('GET', '/v1/saved-searches', { key: owner.key })).json<{ items: unknown[] }>()
        .items,
    ).toEqual([]);
  });
});
