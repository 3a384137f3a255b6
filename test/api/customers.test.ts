import { eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customers, mergeRedirects } from '../../db/schema';
import { defineAttributes, problemOf, startTestApp, uniqueName, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await defineAttributes(t, 'customer', { plan: 'text', seats: 'number' });
});
afterAll(() => t.close());

interface Customer {
  id: string;
  name: string;
  emails: { address: string; preferred: boolean }[];
  phones: { number: string; preferred: boolean }[];
  externalId: string | null;
  companyId: string | null;
  [key: string]: unknown;
}

async function createCompany(name = uniqueName('Company')) {
  return (await t.call('POST', '/v1/companies', { body: { name } })).json<{ id: string }>().id;
}

async function createCustomer(body: Record<string, unknown> = {}) {
  const response = await t.call('POST', '/v1/customers', {
    body: { name: 'Ada Lovelace', ...body },
  });
  expect(response.statusCode).toBe(201);
  return response.json<Customer>();
}

describe('customers', () => {
  it('creates a customer with every profile field and reads it back', async () => {
    const companyId = await createCompany();
    const externalId = randomUUID();
    const created = await createCustomer({
      companyId,
      emails: [
        { address: 'ada@example.com' },
        { address: 'countess@example.org', preferred: true },
      ],
      phones: [{ number: '+44 20 7946 0958' }],
      socialHandles: [{ network: 'mastodon', handle: '@ada@example.social' }],
      websites: ['https://ada.example.com'],
      externalId,
      customAttributes: { plan: 'gold', seats: 3 },
    });
    expect(created.emails).toEqual([
      { address: 'ada@example.com', preferred: false },
      { address: 'countess@example.org', preferred: true },
    ]);
    expect(created.phones).toEqual([{ number: '+44 20 7946 0958', preferred: true }]);

    const fetched = await t.call('GET', `/v1/customers/${created.id}`);
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).toEqual(created);
    expect(fetched.json()).toMatchObject({
      companyId,
      externalId,
      socialHandles: [{ network: 'mastodon', handle: '@ada@example.social' }],
      websites: ['https://ada.example.com'],
      customAttributes: { plan: 'gold', seats: 3 },
    });
  });

  it('updates fields and which email and phone are preferred', async () => {
    const created = await createCustomer({
      emails: [{ address: 'a@example.com' }, { address: 'b@example.com' }],
      phones: [{ number: '+1 555 0100' }, { number: '+1 555 0199' }],
    });
    expect(created.emails[0]!.preferred).toBe(true);
    const updated = await t.call('PATCH', `/v1/customers/${created.id}`, {
      body: {
        name: 'Ada King',
        emails: [{ address: 'a@example.com' }, { address: 'b@example.com', preferred: true }],
        phones: [{ number: '+1 555 0100' }, { number: '+1 555 0199', preferred: true }],
      },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({
      name: 'Ada King',
      emails: [
        { address: 'a@example.com', preferred: false },
        { address: 'b@example.com', preferred: true },
      ],
      phones: [
        { number: '+1 555 0100', preferred: false },
        { number: '+1 555 0199', preferred: true },
      ],
    });
  });

  it('refuses a duplicate external ID with 409 and writes nothing', async () => {
    const externalId = randomUUID();
    await createCustomer({ externalId });
    const name = uniqueName('Duplicate');
    const response = await t.call('POST', '/v1/customers', { body: { name, externalId } });
    expect(response.statusCode).toBe(409);
    expect(problemOf(response).code).toBe('EXTERNAL_ID_TAKEN');
    expect(await t.db.select().from(customers).where(eq(customers.name, name))).toHaveLength(0);

    const other = await createCustomer();
    const patch = await t.call('PATCH', `/v1/customers/${other.id}`, { body: { externalId } });
    expect(problemOf(patch).code).toBe('EXTERNAL_ID_TAKEN');
  });

  it.each([
    ['a missing name', {}],
    ['an unknown field', { name: 'X', nickname: 'x' }],
    ['a wrong type', { name: 42 }],
    ['a malformed email', { name: 'X', emails: [{ address: 'not-an-email' }] }],
    ['a non-uuid company', { name: 'X', companyId: 'acme' }],
    ['a website that is not a URL', { name: 'X', websites: ['nope'] }],
  ])('refuses %s with 400 VALIDATION_FAILED', async (_what, body) => {
    const response = await t.call('POST', '/v1/customers', { body });
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).code).toBe('VALIDATION_FAILED');
  });

  it('refuses malformed JSON and a non-JSON body with 4xx problems', async () => {
    const broken = await t.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(broken.statusCode).toBe(400);
    expect(problemOf(broken).code).toBe('INVALID_JSON');
    const text = await t.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'text/plain' },
      payload: 'name=Ada',
    });
    expect(text.statusCode).toBe(415);
    expect(problemOf(text).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it.each([
    [
      'two preferred emails',
      {
        emails: [
          { address: 'a@x.io', preferred: true },
          { address: 'b@x.io', preferred: true },
        ],
      },
      'MULTIPLE_PREFERRED_EMAILS',
    ],
    [
      'the same email twice, in another case',
      { emails: [{ address: 'a@x.io' }, { address: 'A@X.io' }] },
      'DUPLICATE_EMAIL',
    ],
    [
      'the same phone twice, punctuated differently',
      { phones: [{ number: '+1 555 0100' }, { number: '+1-555-0100' }] },
      'DUPLICATE_PHONE',
    ],
    ['an unknown company', { companyId: randomUUID() }, 'COMPANY_NOT_FOUND'],
  ])('refuses %s with 422', async (_what, body, code) => {
    const response = await t.call('POST', '/v1/customers', { body: { name: 'X', ...body } });
    expect(response.statusCode).toBe(422);
    expect(problemOf(response).code).toBe(code);
  });

  it('answers 404 for an unknown customer and 400 for a malformed ID', async () => {
    const missing = await t.call('GET', `/v1/customers/${randomUUID()}`);
    expect(missing.statusCode).toBe(404);
    expect(problemOf(missing).code).toBe('CUSTOMER_NOT_FOUND');
    expect(
      (await t.call('PATCH', `/v1/customers/${randomUUID()}`, { body: { name: 'X' } })).statusCode,
    ).toBe(404);
    const malformed = await t.call('GET', '/v1/customers/123');
    expect(malformed.statusCode).toBe(400);
    expect(problemOf(malformed).code).toBe('VALIDATION_FAILED');
  });

  it('lists customers newest first with a cursor, filtered by company', async () => {
    const companyId = await createCompany();
    const made = [];
    for (let i = 0; i < 5; i++)
      made.push(await createCustomer({ name: `Customer ${i}`, companyId }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await t.call(
        'GET',
        `/v1/customers?companyId=${companyId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(response.statusCode).toBe(200);
      const page = response.json<{ items: Customer[]; nextCursor: string | null }>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(made.map((c) => c.id).reverse());
  });

  it('refuses a cursor it did not hand out with 400 INVALID_CURSOR', async () => {
    const response = await t.call('GET', '/v1/customers?cursor=garbage');
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).code).toBe('INVALID_CURSOR');
  });

  it('sends a merged-away customer ID to the survivor with 308', async () => {
    const c = await createCustomer({ name: 'Survivor' });
    const a = randomUUID();
    const b = randomUUID();
    await t.db.insert(mergeRedirects).values([
      { sourceCustomerId: a, targetCustomerId: c.id },
      { sourceCustomerId: b, targetCustomerId: c.id },
    ]);
    for (const id of [a, b]) {
      const response = await t.call('GET', `/v1/customers/${id}`);
      expect(response.statusCode).toBe(308);
      expect(response.headers.location).toBe(`/v1/customers/${c.id}`);
    }
  });
});
