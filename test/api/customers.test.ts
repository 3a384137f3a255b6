import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies, customers, mergeRedirects } from '../../db/schema';
import {
  defineAttributes,
  problemOf,
  startTestApp,
  uniqueName,
  uniqueWord,
  type TestApp,
} from '../helpers';

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
  phones: { number: string; e164: string | null; preferred: boolean }[];
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
    expect(created.phones).toEqual([
      { number: '+44 20 7946 0958', e164: '+442079460958', preferred: true },
    ]);

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
      phones: [{ number: '+1 202 555 0100' }, { number: '+1 202 555 0199' }],
    });
    expect(created.emails[0]!.preferred).toBe(true);
    const updated = await t.call('PATCH', `/v1/customers/${created.id}`, {
      body: {
        name: 'Ada King',
        emails: [{ address: 'a@example.com' }, { address: 'b@example.com', preferred: true }],
        phones: [{ number: '+1 202 555 0100' }, { number: '+1 202 555 0199', preferred: true }],
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
        { number: '+1 202 555 0100', e164: '+12025550100', preferred: false },
        { number: '+1 202 555 0199', e164: '+12025550199', preferred: true },
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
      { phones: [{ number: '+1 202 555 0100' }, { number: '+1-202-555-0100' }] },
      'DUPLICATE_PHONE',
    ],
    [
      'the same phone twice, once written nationally (default region GB)',
      { phones: [{ number: '+44 20 7946 0958' }, { number: '020 7946 0958' }] },
      'DUPLICATE_PHONE',
    ],
    [
      'the same phone twice, once with an international 00',
      { phones: [{ number: '0044 20 7946 0958' }, { number: '+442079460958' }] },
      'DUPLICATE_PHONE',
    ],
    ['an unknown company', { companyId: randomUUID() }, 'COMPANY_NOT_FOUND'],
  ])('refuses %s with 422', async (_what, body, code) => {
    const response = await t.call('POST', '/v1/customers', { body: { name: 'X', ...body } });
    expect(response.statusCode).toBe(422);
    expect(problemOf(response).code).toBe(code);
  });

  it('keeps a phone as typed beside its E.164 form, reading one without a country code in the default region', async () => {
    const created = await createCustomer({
      phones: [{ number: '020 7946 0958' }, { number: '+1 (202) 555-0123', preferred: true }],
    });
    expect(created.phones).toEqual([
      { number: '020 7946 0958', e164: '+442079460958', preferred: false },
      { number: '+1 (202) 555-0123', e164: '+12025550123', preferred: true },
    ]);
    const [row] = await t.db.select().from(customers).where(eq(customers.id, created.id));
    expect(row?.phones).toEqual(created.phones);
  });

  it.each([
    ['POST', '+.(045)5401.)', 'not_a_number'],
    ['POST', 'call me', 'not_a_number'],
    ['POST', '+1 555 0100', 'invalid'],
    ['POST', '020 7946 0958 ext. 12', 'extension'],
    ['PATCH', '+44 20 7946 09581', 'invalid'],
  ])(
    'refuses %s of a phone that is not a phone number (%s) with 400 naming its index, and writes nothing',
    async (method, number, reason) => {
      const existing = await createCustomer({ phones: [{ number: '+44 20 7946 0958' }] });
      const name = uniqueName('Phoneless');
      const body = { name, phones: [{ number: '+44 20 7946 0959' }, { number }] };
      const response =
        method === 'POST'
          ? await t.call('POST', '/v1/customers', { body })
          : await t.call('PATCH', `/v1/customers/${existing.id}`, { body });
      expect(response.statusCode, response.body).toBe(400);
      expect(problemOf(response)).toMatchObject({
        code: 'INVALID_PHONE_NUMBER',
        index: 1,
        field: 'phones/1/number',
        reason,
        region: 'GB',
      });
      expect(problemOf(response).detail).toContain('phones[1].number');
      expect(response.body).not.toContain(number);
      expect(await t.db.select().from(customers).where(eq(customers.name, name))).toHaveLength(0);
      const [row] = await t.db.select().from(customers).where(eq(customers.id, existing.id));
      expect(row?.phones).toEqual([
        { number: '+44 20 7946 0958', e164: '+442079460958', preferred: true },
      ]);
    },
  );

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

describe('customers with a company given by name', () => {
  /** The companies whose name is `name` as the unique index compares names. */
  const companiesNamed = (name: string) =>
    t.db
      .select({ id: companies.id, name: companies.name })
      .from(companies)
      .where(sql`lower(btrim(${companies.name})) = lower(btrim(${name}))`);

  const customersNamed = (name: string) =>
    t.db.select({ id: customers.id }).from(customers).where(eq(customers.name, name));

  it('files a customer under the company of that name, case and spaces aside', async () => {
    const name = uniqueName('Wayne Enterprises');
    const companyId = await createCompany(name);
    const created = await createCustomer({ companyName: `  ${name.toUpperCase()} ` });
    expect(created.companyId).toBe(companyId);
    const other = await createCompany();
    const moved = await t.call('PATCH', `/v1/customers/${created.id}`, {
      body: {
        companyName: (await t.call('GET', `/v1/companies/${other}`)).json<{ name: string }>().name,
      },
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json<Customer>().companyId).toBe(other);
  });

  it('refuses an unknown name with 422 COMPANY_NOT_FOUND and the nearest names, creating nothing', async () => {
    const word = uniqueWord('zqn');
    const near = await createCompany(`${word} Industries`);
    const person = uniqueName('Nobody');
    const response = await t.call('POST', '/v1/customers', {
      body: { name: person, companyName: `${word} Industriez` },
    });
    expect(response.statusCode).toBe(422);
    const problem = problemOf(response);
    expect(problem.code).toBe('COMPANY_NOT_FOUND');
    expect(problem.candidates).toEqual([{ id: near, name: `${word} Industries` }]);
    expect(await customersNamed(person)).toEqual([]);
    expect(await companiesNamed(`${word} Industriez`)).toEqual([]);

    const existing = await createCustomer({ name: person });
    const patch = await t.call('PATCH', `/v1/customers/${existing.id}`, {
      body: { companyName: `${word} Industriez` },
    });
    expect(patch.statusCode).toBe(422);
    expect(problemOf(patch).code).toBe('COMPANY_NOT_FOUND');
    expect((await t.call('GET', `/v1/customers/${existing.id}`)).json<Customer>().companyId).toBe(
      null,
    );
  });

  it('creates the company when asked, and only when the customer is created too', async () => {
    const name = uniqueName('Stark Industries');
    const created = await createCustomer({ companyName: ` ${name} `, createCompany: true });
    expect(await companiesNamed(name)).toEqual([{ id: created.companyId, name }]);
    // An existing company is found, not created again.
    const second = await createCustomer({ companyName: name.toLowerCase(), createCompany: true });
    expect(second.companyId).toBe(created.companyId);

    const refusedName = uniqueName('Never Made');
    const externalId = randomUUID();
    await createCustomer({ externalId });
    const refused = await t.call('POST', '/v1/customers', {
      body: { name: 'Twin', externalId, companyName: refusedName, createCompany: true },
    });
    expect(refused.statusCode).toBe(409);
    expect(problemOf(refused).code).toBe('EXTERNAL_ID_TAKEN');
    expect(await companiesNamed(refusedName)).toEqual([]);
  });

  it('refuses companyId with companyName, and createCompany without companyName, with 400', async () => {
    const companyId = await createCompany();
    const cases: [Record<string, unknown>, string][] = [
      [{ companyId, companyName: 'Acme' }, 'COMPANY_ID_AND_NAME'],
      [{ companyId: null, companyName: 'Acme' }, 'COMPANY_ID_AND_NAME'],
      [{ createCompany: true }, 'CREATE_COMPANY_WITHOUT_NAME'],
    ];
    const existing = await createCustomer();
    for (const [body, code] of cases) {
      const create = await t.call('POST', '/v1/customers', { body: { name: 'Both', ...body } });
      expect(create.statusCode).toBe(400);
      expect(problemOf(create).code).toBe(code);
      const patch = await t.call('PATCH', `/v1/customers/${existing.id}`, { body });
      expect(patch.statusCode).toBe(400);
      expect(problemOf(patch).code).toBe(code);
    }
    const blank = await t.call('POST', '/v1/customers', {
      body: { name: 'Blank', companyName: '   ', createCompany: true },
    });
    expect(blank.statusCode).toBe(400);
    expect(problemOf(blank).code).toBe('VALIDATION_FAILED');
  });

  it('creates one company for dozens of parallel creates and updates naming the same new one', async () => {
    const name = uniqueName('Parallel Works');
    const spelled = (i: number) => (i % 2 === 0 ? name : ` ${name.toUpperCase()} `);
    const existing = await Promise.all(Array.from({ length: 12 }, () => createCustomer()));
    const responses = await Promise.all([
      ...Array.from({ length: 24 }, (_, i) =>
        t.call('POST', '/v1/customers', {
          body: { name: `P${i}`, companyName: spelled(i), createCompany: true },
        }),
      ),
      ...existing.map((customer, i) =>
        t.call('PATCH', `/v1/customers/${customer.id}`, {
          body: { companyName: spelled(i), createCompany: true },
        }),
      ),
    ]);
    expect(responses.map((r) => r.statusCode)).toEqual([
      ...Array<number>(24).fill(201),
      ...Array<number>(12).fill(200),
    ]);
    const made = await companiesNamed(name);
    expect(made).toHaveLength(1);
    expect(new Set(responses.map((r) => r.json<Customer>().companyId))).toEqual(
      new Set([made[0]!.id]),
    );
  });
});
