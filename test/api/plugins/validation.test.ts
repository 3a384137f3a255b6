import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversations, customers } from '../../../db/schema';
import { MAX_BODY_DEPTH } from '../../../api/plugins/validation';
import { problemOf, startTestApp, uniqueName, type TestApp } from '../../helpers';

interface Issue {
  path: string;
  field: string;
  message: string;
  allowed?: string[];
}

/** The one refused field of a VALIDATION_FAILED answer. */
function onlyIssue(response: Parameters<typeof problemOf>[0]): Issue {
  const problem = problemOf(response);
  expect(problem.code).toBe('VALIDATION_FAILED');
  const errors = problem.errors as Issue[];
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: true });
});
afterAll(() => t.close());

const newCustomer = (body: Record<string, unknown> = {}) =>
  t.create<{ id: string; lastActivityAt: string }>('/v1/customers', {
    name: uniqueName('Customer'),
    ...body,
  });

const conversationCount = async (customerId: string) =>
  (await t.db.select().from(conversations).where(eq(conversations.customerId, customerId))).length;

/** A raw JSON body, as a hostile client would send it. */
const postRaw = (url: string, payload: string) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
    payload,
  });

function nested(depth: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 1; i < depth; i++) value = { level: value };
  return { level: value };
}

describe('user-given times', () => {
  const refused = [
    '0050-01-01T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T00:00:00Z',
    '2016-12-31T23:59:60Z',
    '1969-12-31T23:59:59Z',
  ];

  it.each(refused)(
    'refuses createdAt %s with a 400 naming the field, storing nothing',
    async (at) => {
      const customer = await newCustomer();
      const response = await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
        body: { channel: 'email', createdAt: at },
      });
      expect(response.statusCode).toBe(400);
      const problem = problemOf(response);
      expect(problem.code).toBe('VALIDATION_FAILED');
      expect(problem.errors).toEqual([expect.objectContaining({ field: 'createdAt' })]);
      expect(problem.detail).toContain('createdAt');
      expect(await conversationCount(customer.id)).toBe(0);
      const read = await t.call('GET', `/v1/customers/${customer.id}`);
      expect(read.json<{ lastActivityAt: string }>().lastActivityAt).toBe(customer.lastActivityAt);
    },
  );

  it('refuses a message sentAt in the future beyond the leeway, naming messages.0.sentAt', async () => {
    const customer = await newCustomer();
    const response = await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
      body: {
        channel: 'email',
        messages: [
          {
            direction: 'inbound',
            body: 'hi',
            sentAt: new Date(Date.now() + 10 * 60_000).toISOString(),
          },
        ],
      },
    });
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).errors).toEqual([
      expect.objectContaining({ field: 'messages.0.sentAt', path: '/messages/0/sentAt' }),
    ]);
    expect(await conversationCount(customer.id)).toBe(0);
  });

  it('accepts the epoch and a time a minute ahead (clock skew)', async () => {
    const customer = await newCustomer();
    for (const createdAt of ['1970-01-01T00:00:00Z', new Date(Date.now() + 60_000).toISOString()]) {
      const response = await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
        body: { channel: 'email', createdAt },
      });
      expect(response.statusCode, response.body).toBe(201);
      expect(response.json<{ createdAt: string }>().createdAt).toBe(
        new Date(createdAt).toISOString(),
      );
    }
  });

  it('reads rows holding times a Date cannot represent (stored before the bound)', async () => {
    const company = await t.create('/v1/companies', { name: uniqueName('Company') });
    const customer = await newCustomer({ companyId: company.id });
    await t.create(`/v1/customers/${customer.id}/conversations`, { channel: 'email' });
    for (const stored of ['0001-01-01 00:00:00+00 BC', 'infinity']) {
      await t.db
        .update(customers)
        .set({ lastActivityAt: sql`${stored}::timestamptz` })
        .where(eq(customers.id, customer.id));
      await t.db
        .update(conversations)
        .set({
          lastActivityAt: sql`${stored}::timestamptz`,
          createdAt: sql`${stored}::timestamptz`,
        })
        .where(eq(conversations.customerId, customer.id));
      for (const url of [
        `/v1/customers/${customer.id}`,
        `/v1/customers/${customer.id}/timeline`,
        `/v1/companies/${company.id}/timeline`,
        `/v1/companies/${company.id}/customers`,
      ]) {
        const response = await t.call('GET', url);
        expect(response.statusCode, `${stored} ${url}: ${response.body}`).toBe(200);
      }
    }
  });
});

describe('free JSON bounds', () => {
  it('refuses a 4,500-deep array with 400 JSON_TOO_DEEP before parsing it', async () => {
    const deep = `${'['.repeat(4500)}1${']'.repeat(4500)}`;
    const name = uniqueName('Deep');
    for (const [url, payload] of [
      ['/v1/customers', `{"name":"${name}","customAttributes":{"a":${deep}}}`],
      ['/v1/companies', `{"name":"${name}","customAttributes":{"a":${deep}}}`],
    ] as const) {
      const response = await postRaw(url, payload);
      expect(response.statusCode, response.body).toBe(400);
      expect(problemOf(response)).toMatchObject({
        code: 'JSON_TOO_DEEP',
        maxDepth: MAX_BODY_DEPTH,
      });
    }
    const customer = await newCustomer();
    const response = await postRaw(
      `/v1/customers/${customer.id}/kobjects`,
      `{"klass":"order","title":"x","data":{"a":${deep}}}`,
    );
    expect(problemOf(response).code).toBe('JSON_TOO_DEEP');
    expect((await t.db.select().from(customers).where(eq(customers.name, name))).length).toBe(0);
  });

  it('lets custom attributes 10 levels deep past the JSON bounds and refuses 11, naming the field', async () => {
    // Past the bounds, the attribute check answers: no attribute type holds an object.
    const ten = await t.call('POST', '/v1/customers', {
      body: { name: 'Ten', customAttributes: nested(10) },
    });
    expect(ten.statusCode).toBe(400);
    expect(problemOf(ten)).toMatchObject({ code: 'ATTRIBUTE_UNKNOWN', attribute: 'level' });
    const response = await t.call('POST', '/v1/customers', {
      body: { name: 'Eleven', customAttributes: nested(11) },
    });
    expect(response.statusCode).toBe(400);
    const issue = onlyIssue(response);
    expect(issue.field).toBe('customAttributes');
    expect(issue.message).toContain('10 levels');
  });

  it('refuses custom attributes over 16 KB and KObject data over 64 KB', async () => {
    const customer = await newCustomer();
    const big = (kb: number) => ({ text: 'x'.repeat(kb * 1024) });
    const attributes = await t.call('PATCH', `/v1/customers/${customer.id}`, {
      body: { customAttributes: big(17) },
    });
    expect(attributes.statusCode).toBe(400);
    expect(onlyIssue(attributes)).toMatchObject({ field: 'customAttributes' });
    expect(onlyIssue(attributes).message).toContain('16 KB');
    await t.call('POST', '/v1/klasses', { body: { name: 'order', title: 'Order' } });
    const fits = await t.call('POST', `/v1/customers/${customer.id}/kobjects`, {
      body: { klass: 'order', title: 'Fits', data: big(40) },
    });
    expect(fits.statusCode, fits.body).toBe(201);
    const tooBig = await t.call('POST', `/v1/customers/${customer.id}/kobjects`, {
      body: { klass: 'order', title: 'Too big', data: big(65) },
    });
    expect(tooBig.statusCode).toBe(400);
    expect(onlyIssue(tooBig).field).toBe('data');
    expect(onlyIssue(tooBig).message).toContain('64 KB');
  });
});

describe('names and strings', () => {
  it.each([
    ['/v1/customers', { name: '   ' }],
    ['/v1/companies', { name: '\t\n' }],
    ['/v1/users', { name: '  ', email: `${randomUUID()}@example.com` }],
    ['/v1/klasses', { name: 'blank_title', title: ' ' }],
    ['/v1/saved-searches', { name: ' ', index: 'customers' }],
  ])('refuses a white-space-only name on %s', async (url, body) => {
    const response = await t.call('POST', url, { body });
    expect(response.statusCode).toBe(400);
    const [issue] = problemOf(response).errors as { field: string; message: string }[];
    expect(issue).toMatchObject({ message: 'must not be blank' });
    expect(['name', 'title']).toContain(issue!.field);
  });

  it('refuses NUL characters with a 400 naming the field, in values and in keys', async () => {
    const customer = await newCustomer();
    const inBody = await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
      body: { channel: 'email', messages: [{ direction: 'inbound', body: 'a\u0000b' }] },
    });
    expect(inBody.statusCode).toBe(400);
    expect(problemOf(inBody)).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'messages.0.body', path: '/messages/0/body' }],
    });
    const inKey = await t.call('PATCH', `/v1/customers/${customer.id}`, {
      body: { customAttributes: { 'pl\u0000an': 'gold' } },
    });
    expect(problemOf(inKey).errors).toEqual([
      expect.objectContaining({ field: 'customAttributes.pl\u0000an' }),
    ]);
    const inQuery = await t.call('GET', `/v1/search/customers?q=a%00b`);
    expect(inQuery.statusCode).toBe(400);
    expect(problemOf(inQuery).errors).toEqual([expect.objectContaining({ field: 'q' })]);
    expect(await conversationCount(customer.id)).toBe(0);
  });

  it('lists the allowed values of an enumeration once, naming the field', async () => {
    const customer = await newCustomer();
    const response = await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
      body: { channel: 'pigeon' },
    });
    const issue = onlyIssue(response);
    expect(issue).toMatchObject({ path: '/channel', field: 'channel' });
    expect(issue.message).toMatch(/^must be one of email, /);
    expect(issue.allowed).toContain('email');
    expect(issue.allowed).toContain('chat');
  });
});

describe('empty JSON bodies', () => {
  it('treats an empty body with a JSON content type as no body on body-less routes', async () => {
    const saved = await t.create('/v1/saved-searches', { name: 'Empty body', index: 'customers' });
    const response = await t.call('DELETE', `/v1/saved-searches/${saved.id}`, {
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode, response.body).toBe(204);
  });

  it('still refuses an empty body where a body is required', async () => {
    const response = await t.call('POST', '/v1/customers', {
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).code).toBe('VALIDATION_FAILED');
  });
});

describe('IDs are lower-cased at the edge', () => {
  it('reads, refers and compares upper-case UUIDs as the same IDs', async () => {
    const company = await t.create('/v1/companies', { name: uniqueName('Company') });
    const customer = await newCustomer({ companyId: company.id.toUpperCase() });
    const read = await t.call('GET', `/v1/customers/${customer.id.toUpperCase()}`);
    expect(read.json()).toMatchObject({ id: customer.id, companyId: company.id });

    const same = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: customer.id, targetCustomerId: customer.id.toUpperCase() },
    });
    expect(same.statusCode).toBe(422);
    expect(problemOf(same).code).toBe('SAME_CUSTOMER');
  });

  it('previews a merge and a split given upper-case IDs, with lower-case IDs in the job', async () => {
    const source = await newCustomer();
    const target = await newCustomer();
    const conversation = await t.create(`/v1/customers/${source.id}/conversations`, {
      channel: 'email',
    });
    const split = await t.call('POST', '/v1/splits', {
      body: {
        sourceCustomerId: source.id.toUpperCase(),
        targetCustomerId: target.id.toUpperCase(),
        conversationIds: [conversation.id.toUpperCase()],
      },
    });
    expect(split.statusCode, split.body).toBe(201);
    expect(split.json<{ job: { params: unknown } }>().job.params).toEqual({
      sourceCustomerId: source.id,
      targetCustomerId: target.id,
      conversationIds: [conversation.id],
    });
    const splitJob = split.json<{ job: { id: string } }>().job.id;
    expect((await t.call('POST', `/v1/splits/${splitJob.toUpperCase()}/cancel`)).statusCode).toBe(
      200,
    );

    const merge = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: source.id, targetCustomerId: target.id.toUpperCase() },
    });
    expect(merge.statusCode, merge.body).toBe(201);
    expect(merge.json<{ job: { params: unknown } }>().job.params).toMatchObject({
      sourceCustomerId: source.id,
      targetCustomerId: target.id,
    });
  });
});
