import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engagementEvents } from '../../db/schema';
import { decodedHistory, eventually, problemOf, uniqueWord, type TestApp } from '../helpers';
import { startJobTestApp } from '../job-helpers';

let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
});
afterAll(() => t.close());

interface EventInput {
  type: string;
  occurredAt: string;
  properties?: unknown;
  externalId?: string;
  [extra: string]: unknown;
}

interface Event {
  id: string;
  customerId: string;
  type: string;
  occurredAt: string;
  properties: Record<string, unknown>;
  externalId: string | null;
}

interface Job {
  id: string;
  status: string;
  workflowId: string;
  preview: Record<string, unknown>;
  result: { counts: Record<string, number> } | null;
}

const post = <T = { id: string }>(url: string, body: unknown) => t.create<T>(url, body);
const newCustomer = (name = 'Event Owner') => post('/v1/customers', { name });
const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 12, minute)).toISOString();

const send = (customerId: string, events: EventInput[]) =>
  t.call('POST', `/v1/customers/${customerId}/events`, { body: { events } });

async function stored(customerId: string): Promise<number> {
  const [row] = await t.db
    .select({ n: sql<number>`count(*)::int` })
    .from(engagementEvents)
    .where(eq(engagementEvents.customerId, customerId));
  return row!.n;
}

async function allEvents(customerId: string, query = '', limit = 100): Promise<Event[]> {
  const events: Event[] = [];
  let cursor: string | null = null;
  do {
    const response = await t.call(
      'GET',
      `/v1/customers/${customerId}/events?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(response.statusCode, response.body).toBe(200);
    const page = response.json<{ items: Event[]; nextCursor: string | null }>();
    events.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return events;
}

const lastActivityOf = async (customerId: string) =>
  (await t.call('GET', `/v1/customers/${customerId}`)).json<{ lastActivityAt: string }>()
    .lastActivityAt;

describe('recording events', () => {
  it('stores a batch, and a re-sent batch with external IDs stores nothing twice', async () => {
    const customer = await newCustomer();
    const batch: EventInput[] = [
      { type: 'page_view', occurredAt: at(1), properties: { url: '/pricing' }, externalId: 'pv-1' },
      { type: 'email_open', occurredAt: at(2), externalId: 'eo-1' },
      { type: 'call', occurredAt: at(3), properties: { seconds: 42, notes: { nested: [1, 2] } } },
    ];
    const first = await send(customer.id, batch);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toEqual({ received: 3, created: 3, duplicates: 0 });

    const events = await allEvents(customer.id);
    expect(events.map((e) => [e.type, e.occurredAt, e.externalId])).toEqual([
      ['call', at(3), null],
      ['email_open', at(2), 'eo-1'],
      ['page_view', at(1), 'pv-1'],
    ]);
    expect(events[0]!.properties).toEqual({ seconds: 42, notes: { nested: [1, 2] } });
    expect(events[1]!.properties).toEqual({});
    expect(events.every((e) => e.customerId === customer.id)).toBe(true);

    // The events with external IDs are recognised; the one without is new again.
    const again = await send(customer.id, batch);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual({ received: 3, created: 1, duplicates: 2 });
    const keyed = batch.filter((e) => e.externalId);
    const onlyDuplicates = await send(customer.id, [...keyed, keyed[0]!]);
    expect(onlyDuplicates.statusCode).toBe(200);
    expect(onlyDuplicates.json()).toEqual({ received: 3, created: 0, duplicates: 3 });
    expect(await stored(customer.id)).toBe(4);

    // An external ID repeated within one batch is stored once; another customer may use it too.
    const other = await newCustomer();
    const repeated = await send(other.id, [
      { type: 'page_view', occurredAt: at(1), externalId: 'pv-1' },
      { type: 'page_view', occurredAt: at(2), externalId: 'pv-1' },
    ]);
    expect(repeated.json()).toEqual({ received: 2, created: 1, duplicates: 1 });
  });

  const valid = (minute: number): EventInput => ({ type: 'page_view', occurredAt: at(minute) });
  const inFuture = (ms: number) => new Date(Date.now() + ms).toISOString();
  const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });

  it.each<[string, (good: EventInput[]) => unknown, string]>([
    [
      'a type that is not lower_snake',
      (g) => [g[0], g[1], { ...g[2], type: 'PageView' }],
      '/events/2/type',
    ],
    [
      'a type longer than 64 characters',
      (g) => [{ ...g[0], type: 'a'.repeat(65) }],
      '/events/0/type',
    ],
    [
      'a date that is not ISO-8601',
      (g) => [g[0], { ...g[1], occurredAt: '01/02/2025' }],
      '/events/1/occurredAt',
    ],
    [
      'a date without a time zone',
      (g) => [{ ...g[0], occurredAt: '2025-01-01T10:00:00' }],
      '/events/0/occurredAt',
    ],
    [
      'an impossible date',
      (g) => [{ ...g[0], occurredAt: '2025-02-30T10:00:00Z' }],
      '/events/0/occurredAt',
    ],
    [
      'a date before 1970',
      (g) => [g[0], { ...g[1], occurredAt: '1969-12-31T23:59:59Z' }],
      '/events/1/occurredAt',
    ],
    [
      'a date more than 5 minutes ahead',
      (g) => [g[0], g[1], { ...g[2], occurredAt: inFuture(10 * 60_000) }],
      '/events/2/occurredAt',
    ],
    [
      'properties over 16 KB',
      (g) => [g[0], { ...g[1], properties: { blob: 'x'.repeat(16_400) } }],
      '/events/1/properties',
    ],
    [
      'properties nested deeper than 10',
      (g) => [{ ...g[0], properties: nested(11) }],
      '/events/0/properties',
    ],
    [
      'properties that are not an object',
      (g) => [{ ...g[0], properties: ['a'] }],
      '/events/0/properties',
    ],
    [
      'a NUL character in properties',
      (g) => [g[0], { ...g[1], properties: { a: { b: 'x\u0000y' } } }],
      '/events/1/properties/a/b',
    ],
    [
      'a NUL character in an external ID',
      (g) => [{ ...g[0], externalId: 'a\u0000' }],
      '/events/0/externalId',
    ],
    ['an unknown field', (g) => [g[0], { ...g[1], colour: 'red' }], '/events/1/colour'],
    [
      'a number where a string belongs',
      (g) => [{ ...g[0], externalId: 7 }],
      '/events/0/externalId',
    ],
    ['a missing occurredAt', (g) => [g[0], { type: 'call' }], '/events/1/occurredAt'],
    ['more than 1000 events', () => Array.from({ length: 1001 }, () => valid(1)), '/events'],
    ['no events at all', () => [], '/events'],
  ])('refuses %s with 400 naming the event, and stores nothing', async (_case, build, path) => {
    const customer = await newCustomer();
    const events = build([valid(1), valid(2), valid(3)]);
    const response = await t.call('POST', `/v1/customers/${customer.id}/events`, {
      body: { events },
    });
    expect(response.statusCode, response.body).toBe(400);
    const problem = problemOf(response);
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect((problem.errors as { path: string }[]).map((e) => e.path)).toContain(path);
    expect(await stored(customer.id)).toBe(0);
  });

  it('accepts the edges of the bounds: 1000 events, 1970-01-01, 4 minutes ahead, 16 KB and depth 10', async () => {
    const customer = await newCustomer();
    const edge: EventInput[] = [
      { type: 'a', occurredAt: '1970-01-01T00:00:00Z' },
      { type: 'call', occurredAt: inFuture(4 * 60_000) },
      { type: 'form_submission', occurredAt: at(1), properties: nested(10) },
      // {"blob":"…"} is 11 bytes plus the string.
      { type: 'page_view', occurredAt: at(1), properties: { blob: 'x'.repeat(16 * 1024 - 11) } },
    ];
    const fill = Array.from({ length: 1000 - edge.length }, (_, i) => valid(i % 60));
    const response = await send(customer.id, [...edge, ...fill]);
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json()).toMatchObject({ received: 1000, created: 1000 });
  });

  it('answers 404 for an unknown customer, and a batch over the body limit with 413', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const response = await send(unknown, [valid(1)]);
    expect(response.statusCode).toBe(404);
    expect(problemOf(response).code).toBe('CUSTOMER_NOT_FOUND');
    expect((await t.call('GET', `/v1/customers/${unknown}/events`)).statusCode).toBe(404);

    const customer = await newCustomer();
    const huge = Array.from({ length: 1000 }, () => ({
      ...valid(1),
      properties: { blob: 'x'.repeat(25_000) },
    }));
    const tooLarge = await send(customer.id, huge);
    expect(tooLarge.statusCode).toBe(413);
    expect(problemOf(tooLarge).code).toBe('PAYLOAD_TOO_LARGE');
    expect(await stored(customer.id)).toBe(0);
  });

  it('moves the last activity forward, never back', async () => {
    const customer = await newCustomer();
    const before = await lastActivityOf(customer.id);
    await send(customer.id, [valid(1)]);
    expect(await lastActivityOf(customer.id)).toBe(before);
    const soon = inFuture(60_000);
    await send(customer.id, [valid(1), { type: 'call', occurredAt: soon }, valid(2)]);
    expect(await lastActivityOf(customer.id)).toBe(soon);
    await send(customer.id, [valid(3)]);
    expect(await lastActivityOf(customer.id)).toBe(soon);
  });

  it('re-sorts customer search by last activity once an event moves it', async () => {
    const word = uniqueWord('evsort');
    const older = await newCustomer(`Older ${word}`);
    const newer = await newCustomer(`Newer ${word}`);
    const order = () =>
      t
        .call('GET', `/v1/search/customers?q=${word}&sort=lastActivityAt:desc`)
        .then((r) => r.json<{ hits: { id: string }[] }>().hits.map((h) => h.id));
    await eventually(async () => ((await order()).length === 2 ? true : undefined));
    expect(await order()).toEqual([newer.id, older.id]);
    await send(older.id, [{ type: 'call', occurredAt: inFuture(60_000) }]);
    await eventually(
      async () => ((await order())[0] === older.id ? true : undefined),
      10_000,
      'the customer with the new event first',
    );
  });

  it('takes 20 batches posted at once on one customer without a deadlock or a lost event', async () => {
    const customer = await newCustomer();
    const latest = inFuture(2 * 60_000);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, batch) =>
        send(
          customer.id,
          Array.from({ length: 50 }, (_, i) => ({
            type: 'page_view',
            occurredAt: batch === 7 && i === 3 ? latest : at(i),
            externalId: `b${batch}-e${i}`,
          })),
        ),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
    expect(await stored(customer.id)).toBe(1000);
    expect(await lastActivityOf(customer.id)).toBe(latest);
  });
});

describe('listing events', () => {
  it('lists newest first with type and time filters, the same on every page size', async () => {
    const customer = await newCustomer();
    const types = ['page_view', 'email_open', 'email_click'];
    // Three events share each minute, so ties are broken by ID across pages.
    const batch = Array.from({ length: 30 }, (_, i) => ({
      type: types[i % 3]!,
      occurredAt: at(Math.floor(i / 3)),
      properties: { n: i },
    }));
    expect((await send(customer.id, batch)).statusCode).toBe(201);

    const everything = await allEvents(customer.id);
    expect(everything).toHaveLength(30);
    const times = everything.map((e) => Date.parse(e.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    for (const limit of [1, 4, 7]) {
      expect((await allEvents(customer.id, '', limit)).map((e) => e.id)).toEqual(
        everything.map((e) => e.id),
      );
    }

    const clicks = await allEvents(customer.id, '&type=email_click', 3);
    expect(clicks.map((e) => e.id)).toEqual(
      everything.filter((e) => e.type === 'email_click').map((e) => e.id),
    );
    const window = await allEvents(customer.id, `&from=${at(2)}&to=${at(5)}`, 2);
    expect(window.map((e) => e.properties.n).sort((a, b) => Number(a) - Number(b))).toEqual([
      6, 7, 8, 9, 10, 11, 12, 13, 14,
    ]);
    const clicksInWindow = await allEvents(
      customer.id,
      `&type=email_click&from=${at(2)}&to=${at(5)}`,
    );
    expect(clicksInWindow.map((e) => e.properties.n)).toEqual([14, 11, 8]);

    const badCursor = await t.call('GET', `/v1/customers/${customer.id}/events?cursor=nonsense`);
    expect(problemOf(badCursor).code).toBe('INVALID_CURSOR');
    const badType = await t.call('GET', `/v1/customers/${customer.id}/events?type=Page%20View`);
    expect(badType.statusCode).toBe(400);
    const badDate = await t.call('GET', `/v1/customers/${customer.id}/events?from=yesterday`);
    expect(problemOf(badDate).code).toBe('VALIDATION_FAILED');
  });

  it('reads the first page of a customer with many events from the index, without sorting them', async () => {
    const customer = await newCustomer();
    await t.db.execute(sql`
      insert into engagement_events (customer_id, type, occurred_at)
      select ${customer.id}::uuid, case when n % 2 = 0 then 'page_view' else 'call' end,
             timestamptz '2025-01-01' + n * interval '1 second'
      from generate_series(1, 50000) n`);
    await t.db.execute(sql`analyze engagement_events`);
    const plan = async (where: ReturnType<typeof sql>) =>
      (
        await t.db.execute<{ 'QUERY PLAN': string }>(sql`
          explain select * from engagement_events where ${where}
          order by occurred_at desc, id desc limit 26`)
      ).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
    const all = await plan(sql`customer_id = ${customer.id}`);
    expect(all).toContain('Index Scan using engagement_events_customer_occurred_idx');
    expect(all).not.toContain('Sort');
    const byType = await plan(sql`customer_id = ${customer.id} and type = 'call'`);
    expect(byType).toContain('Index Scan using engagement_events_customer_type_occurred_idx');
    expect(byType).not.toContain('Sort');
    expect((await allEvents(customer.id, '&type=call', 100)).slice(0, 1)).toMatchObject([
      { type: 'call', occurredAt: new Date(Date.UTC(2025, 0, 1) + 49_999_000).toISOString() },
    ]);
  });
});

describe('events on the timeline', () => {
  it('interleaves events by time after the pins, only when asked, the same on every page size', async () => {
    const customer = await newCustomer();
    const conversation = (minute: number) =>
      post(`/v1/customers/${customer.id}/conversations`, {
        channel: 'chat',
        createdAt: at(minute),
      });
    const c10 = await conversation(10);
    const c20 = await conversation(20);
    const c30 = await conversation(30);
    await send(customer.id, [
      { type: 'page_view', occurredAt: at(5) },
      { type: 'email_open', occurredAt: at(15) },
      { type: 'call', occurredAt: at(25) },
      { type: 'email_click', occurredAt: at(35) },
    ]);
    expect((await t.call('PUT', `/v1/conversations/${c10.id}/pin`)).statusCode).toBe(204);

    const timeline = async (limit: number, include = '&include=events') => {
      const items: { type: string; id: string; title: string; lastActivityAt: string }[] = [];
      let cursor: string | null = null;
      do {
        const response = await t.call(
          'GET',
          `/v1/customers/${customer.id}/timeline?limit=${limit}${include}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(response.statusCode, response.body).toBe(200);
        const page = response.json<{ items: typeof items; nextCursor: string | null }>();
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return items;
    };

    expect((await timeline(100, '')).map((i) => i.id)).toEqual([c10.id, c30.id, c20.id]);
    const full = await timeline(100);
    expect(full.map((i) => (i.type === 'event' ? i.title : i.id))).toEqual([
      c10.id,
      'email_click',
      c30.id,
      'call',
      c20.id,
      'email_open',
      'page_view',
    ]);
    expect(full[1]!.lastActivityAt).toBe(at(35));
    for (const limit of [1, 2, 3]) {
      expect((await timeline(limit)).map((i) => i.id)).toEqual(full.map((i) => i.id));
    }
  });
});

async function startJob(url: string, body: unknown): Promise<Job> {
  const response = await t.call('POST', url, { body });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ job: Job }>().job;
}

async function confirm(kind: string, job: Job): Promise<Job> {
  const response = await t.call('POST', `/v1/${kind}/${job.id}/confirm`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ job: Job }>().job;
}

describe('events in jobs', () => {
  it('merge previews the source events, moves all of them (even newer ones), and keeps them out of the history', async () => {
    const word = uniqueWord('evmerge');
    const source = await newCustomer(`Source ${word}`);
    const target = await newCustomer(`Target ${word}`);
    // More events than the merge item limit: events do not count toward it.
    const many = Array.from({ length: 1000 }, (_, i) => ({
      type: 'page_view',
      occurredAt: at(i % 50),
      properties: { secret: word },
    }));
    await send(source.id, many);
    await send(source.id, [
      {
        type: 'email_open',
        occurredAt: at(55),
        externalId: 'shared-1',
        properties: { from: 'source' },
      },
      { type: 'call', occurredAt: at(56), externalId: 'own-1' },
      { type: 'email_click', occurredAt: at(57) },
    ]);
    await send(target.id, [
      {
        type: 'email_open',
        occurredAt: at(55),
        externalId: 'shared-1',
        properties: { from: 'target' },
      },
    ]);

    const job = await startJob('/v1/merges', {
      sourceCustomerId: source.id,
      targetCustomerId: target.id,
    });
    expect(job.status).toBe('awaiting_confirmation');
    const latest = (await allEvents(source.id, '', 5)).slice(0, 5);
    expect(job.preview.events).toEqual({
      total: 1003,
      byType: { call: 1, email_click: 1, email_open: 1, page_view: 1000 },
      latest: latest.slice(0, 5).map(({ id, type, occurredAt }) => ({ id, type, occurredAt })),
    });
    expect((job.preview.events as { latest: unknown[] }).latest).toHaveLength(5);

    // An event that arrives after the preview does not make it stale, and moves too.
    await send(source.id, [{ type: 'form_submission', occurredAt: at(58) }]);
    const done = await confirm('merges', job);
    expect(done.status).toBe('completed');
    expect(done.result!.counts).toMatchObject({ conversations: 0, kobjects: 0, events: 1004 });

    expect(await stored(source.id)).toBe(0);
    expect(await stored(target.id)).toBe(1005);
    const moved = await allEvents(target.id, '&type=email_open');
    expect(moved.map((e) => [e.properties.from, e.externalId]).sort()).toEqual([
      ['source', null],
      ['target', 'shared-1'],
    ]);
    const resent = await send(target.id, [
      { type: 'call', occurredAt: at(56), externalId: 'own-1' },
      { type: 'email_open', occurredAt: at(55), externalId: 'shared-1' },
    ]);
    expect(resent.json()).toMatchObject({ created: 0, duplicates: 2 });

    const gone = await send(source.id, [{ type: 'call', occurredAt: at(1) }]);
    expect(gone.statusCode).toBe(404);
    expect((await t.call('GET', `/v1/customers/${source.id}/events`)).statusCode).toBe(404);

    expect(await decodedHistory(t.temporal, job.workflowId)).not.toContain(word);
  });

  it('split and KObject moves leave events where they are; last activity still counts them', async () => {
    const source = await newCustomer();
    const target = await newCustomer();
    const conversation = await post(`/v1/customers/${source.id}/conversations`, {
      channel: 'chat',
      createdAt: at(1),
    });
    const kobject = await post(`/v1/customers/${source.id}/kobjects`, { klass, title: 'Order' });
    const latest = new Date(Date.now() + 60_000).toISOString();
    await send(source.id, [
      { type: 'page_view', occurredAt: at(2) },
      { type: 'call', occurredAt: latest },
    ]);

    const split = await startJob('/v1/splits', {
      sourceCustomerId: source.id,
      targetCustomerId: target.id,
      conversationIds: [conversation.id],
    });
    expect((await confirm('splits', split)).status).toBe('completed');
    const move = await startJob('/v1/kobject-moves', {
      kobjectIds: [kobject.id],
      targetCustomerId: target.id,
    });
    expect((await confirm('kobject-moves', move)).status).toBe('completed');

    expect(await stored(source.id)).toBe(2);
    expect(await stored(target.id)).toBe(0);
    expect(await lastActivityOf(source.id)).toBe(latest);
  });

  it('go with their customer when it is deleted, and the erasure counts them', async () => {
    const customer = await newCustomer();
    await send(customer.id, [
      { type: 'page_view', occurredAt: at(1) },
      { type: 'call', occurredAt: at(2), externalId: 'c-1' },
    ]);
    const response = await t.call('DELETE', `/v1/customers/${customer.id}`, {
      body: { confirm: 'DELETE' },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<{ job: Job }>().job.result!.counts).toMatchObject({ events: 2 });
    expect(await stored(customer.id)).toBe(0);
  });
});
