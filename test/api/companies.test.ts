import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_NAME_MATCHES } from '../../db/queries/companies';
import {
  defineAttributes,
  problemOf,
  startTestApp,
  testConfig,
  uniqueName,
  uniqueWord,
  type TestApp,
} from '../helpers';

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

  it('answers 404 for the directory of an unknown company and an empty page for a company without customers', async () => {
    const unknown = await t.call('GET', `/v1/companies/${randomUUID()}/customers`);
    expect(unknown.statusCode).toBe(404);
    expect(problemOf(unknown).code).toBe('COMPANY_NOT_FOUND');
    const empty = await post<{ id: string }>('/v1/companies', { name: uniqueName('Empty') });
    const page = await t.call('GET', `/v1/companies/${empty.id}/customers`);
    expect(page.statusCode).toBe(200);
    expect(page.json()).toEqual({ items: [], nextCursor: null });
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

interface CompanyPage {
  items: { id: string; name: string }[];
  nextCursor: string | null;
}

/** Every page of `url` (which has a query already), followed through its cursors. */
async function allPages(url: string): Promise<{ pages: number; items: CompanyPage['items'] }> {
  const items: CompanyPage['items'] = [];
  let pages = 0;
  for (let cursor: string | null = ''; cursor !== null; pages++) {
    const response = await t.call(
      'GET',
      cursor ? `${url}&cursor=${encodeURIComponent(cursor)}` : url,
    );
    expect(response.statusCode, response.body).toBe(200);
    const page = response.json<CompanyPage>();
    items.push(...page.items);
    cursor = page.nextCursor;
  }
  return { pages, items };
}

/** The word with one letter in its middle replaced: a typo. */
const typoed = (word: string) => {
  const at = Math.floor(word.length / 2);
  return word.slice(0, at) + (word[at] === 'y' ? 'w' : 'y') + word.slice(at + 1);
};

describe('companies by name', () => {
  it('lists companies by name whatever its case, then by ID, across pages', async () => {
    const prefix = uniqueWord('zzsort');
    // Created out of order; a case-sensitive sort would put BETA and Gamma before alpha.
    for (const name of [`${prefix} Gamma`, `${prefix} alpha`, `${prefix} BETA`])
      await post('/v1/companies', { name });
    // Pages of 2: the three alone cross a page boundary, whatever else the database holds.
    const { pages, items } = await allPages('/v1/companies?limit=2');
    expect(pages).toBeGreaterThan(1);
    expect(new Set(items.map((c) => c.id)).size).toBe(items.length);
    expect(items.filter((c) => c.name.startsWith(prefix)).map((c) => c.name)).toEqual([
      `${prefix} alpha`,
      `${prefix} BETA`,
      `${prefix} Gamma`,
    ]);
    const keys = items.map((c) => c.name.trim().toLowerCase());
    // Test databases use the C collation: byte order of the lower-cased names.
    expect(keys).toEqual([...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('finds a company by a name with a typo, best match first', async () => {
    const word = uniqueWord('zqh');
    const wanted = await post<{ id: string }>('/v1/companies', { name: `${word} Harbour Freight` });
    await post('/v1/companies', { name: `${uniqueWord('zqh')} Harbour Freight` });
    const response = await t.call(
      'GET',
      `/v1/companies?q=${encodeURIComponent(`${typoed(word)} harbour freight`)}`,
    );
    expect(response.statusCode).toBe(200);
    expect(response.json<CompanyPage>().items[0]).toEqual(
      expect.objectContaining({ id: wanted.id, name: `${word} Harbour Freight` }),
    );
    const wordOnly = await t.call('GET', `/v1/companies?q=${typoed(word)}`);
    expect(wordOnly.json<CompanyPage>().items.map((c) => c.id)).toEqual([wanted.id]);
  });

  it('puts the exact name first, then the closest, then names that merely start with it', async () => {
    const word = uniqueWord('zqe');
    const longer = await post<{ id: string }>('/v1/companies', { name: `${word} Group Holdings` });
    const exact = await post<{ id: string }>('/v1/companies', { name: word });
    const near = await post<{ id: string }>('/v1/companies', { name: `${word} Group` });
    const response = await t.call(
      'GET',
      `/v1/companies?q=${encodeURIComponent(` ${word.toUpperCase()} `)}`,
    );
    expect(response.json<CompanyPage>().items.map((c) => c.id)).toEqual([
      exact.id,
      near.id,
      longer.id,
    ]);
    const prefix = await t.call('GET', `/v1/companies?q=${word.slice(0, 6)}`);
    expect(prefix.json<CompanyPage>().items.map((c) => c.id)).toEqual(
      expect.arrayContaining([exact.id, near.id, longer.id]),
    );
  });

  it('pages through at most the best MAX_NAME_MATCHES matches by offset', async () => {
    const word = uniqueWord('zqp');
    await t.db.execute(sql`
      insert into companies (name)
      select ${word} || ' Branch ' || g from generate_series(1, ${MAX_NAME_MATCHES + 5}::int) g`);
    const { pages, items } = await allPages(`/v1/companies?q=${word}&limit=30`);
    expect(pages).toBe(4);
    expect(items).toHaveLength(MAX_NAME_MATCHES);
    expect(new Set(items.map((c) => c.id)).size).toBe(MAX_NAME_MATCHES);
    expect(items.every((c) => c.name.startsWith(`${word} Branch `))).toBe(true);
  });

  it('refuses an empty query, a blank one and a cursor it did not hand out', async () => {
    for (const q of ['', '%20%20']) {
      const response = await t.call('GET', `/v1/companies?q=${q}`);
      expect(response.statusCode).toBe(400);
      expect(problemOf(response).code).toBe('VALIDATION_FAILED');
    }
    const response = await t.call('GET', '/v1/companies?q=acme&cursor=bm90LWEtY3Vyc29y');
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).code).toBe('INVALID_CURSOR');
  });

  it('matches nothing for a query of punctuation alone, wildcards included', async () => {
    // A query without a letter or digit has no trigram; `%` is no wildcard that lists every company.
    for (const q of ['%', '_', '%_%', '\\']) {
      const response = await t.call('GET', `/v1/companies?q=${encodeURIComponent(q)}`);
      expect(response.statusCode).toBe(200);
      expect(response.json<CompanyPage>().items).toEqual([]);
    }
  });

  it('keeps the search query out of the log', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    const logged = await startTestApp({ config: testConfig({ LOG_LEVEL: 'info' }), logStream });
    try {
      const secret = uniqueWord('zqsecret');
      const response = await logged.call('GET', `/v1/companies?q=${secret}`);
      expect(response.statusCode).toBe(200);
      const log = lines.join('');
      expect(log).toContain('"route":"/v1/companies"');
      expect(log).not.toContain(secret);
    } finally {
      await logged.close();
    }
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
