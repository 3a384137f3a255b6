import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createDatabase } from '../../db/client';
import { createConversation } from '../../db/queries/conversations';
import { SEARCH_OUTBOX_CHANNEL } from '../../db/queries/search-outbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  privateDay,
  problemOf,
  reportLanes,
  startTestApp,
  uniqueWord,
  type TestApp,
} from '../helpers';

/**
 * A conversation or KObject create is one statement; what it writes (or,
 * for an unknown customer, does not write) is what these tests read back.
 */
let t: TestApp;
const klass = `tw_${randomUUID().slice(0, 8)}`;
beforeAll(async () => {
  t = await startTestApp();
  await t.create('/v1/klasses', { name: klass, title: 'Timeline write' });
});
afterAll(() => t.close());

/** A day no other test file writes to, so the report's cells are this test's alone. */
const privateIsoDay = () => privateDay(reportLanes.timelineWrites).toISOString().slice(0, 10);

async function outboxOf(entityId: string): Promise<string[]> {
  const result = await t.db.execute<{ entity: string }>(
    sql`select entity from search_outbox where entity_id = ${entityId} order by id`,
  );
  return result.rows.map((r) => r.entity);
}

const reportTotal = async (day: string) =>
  (await t.call('GET', `/v1/reports/conversations?from=${day}&to=${day}`)).json<{
    total: number;
  }>().total;

const customerOf = async (id: string) =>
  (await t.call('GET', `/v1/customers/${id}`)).json<{ lastActivityAt: string }>();

describe('a conversation create', () => {
  it('writes the conversation, its messages in the order given, the report change and the outbox rows', async () => {
    const customer = await t.create<{ id: string }>('/v1/customers', { name: 'Ada Lovelace' });
    const day = privateIsoDay();
    const at = (hour: string) => `${day}T${hour}:00:00.000Z`;
    const bodies = [uniqueWord('late'), uniqueWord('early'), uniqueWord('noon')];
    const created = await t.create<{
      id: string;
      customerId: string;
      createdAt: string;
      lastActivityAt: string;
      messages: { id: string; body: string; sentAt: string }[];
    }>(`/v1/customers/${customer.id}/conversations`, {
      channel: 'chat',
      subject: 'Three messages',
      createdAt: at('08'),
      messages: [
        { direction: 'inbound', body: bodies[0], sentAt: at('18') },
        { direction: 'outbound', body: bodies[1], sentAt: at('09') },
        { direction: 'inbound', body: bodies[2] },
      ],
    });
    expect(created).toMatchObject({
      customerId: customer.id,
      createdAt: at('08'),
      lastActivityAt: at('18'),
    });
    expect(created.messages.map((m) => [m.body, m.sentAt])).toEqual([
      [bodies[0], at('18')],
      [bodies[1], at('09')],
      [bodies[2], at('08')],
    ]);

    const fetched = (await t.call('GET', `/v1/conversations/${created.id}`)).json<unknown>();
    expect(fetched).toEqual({
      ...created,
      messages: [created.messages[2], created.messages[1], created.messages[0]],
    });
    expect(await reportTotal(day)).toBe(1);
    expect(await outboxOf(created.id)).toEqual(['conversation']);
    expect(await outboxOf(customer.id)).toContain('customer');
    expect((await customerOf(customer.id)).lastActivityAt >= at('18')).toBe(true);
  });

  it('leaves the customer out of the outbox when an imported conversation is older than its last activity', async () => {
    const customer = await t.create<{ id: string }>('/v1/customers', { name: 'Old Import' });
    const before = await outboxOf(customer.id);
    const lastActivity = (await customerOf(customer.id)).lastActivityAt;
    const old = await t.create<{ id: string }>(`/v1/customers/${customer.id}/conversations`, {
      channel: 'email',
      createdAt: '1970-01-01T00:00:00.000Z',
    });
    expect(await outboxOf(old.id)).toEqual(['conversation']);
    expect(await outboxOf(customer.id)).toEqual(before);
    expect((await customerOf(customer.id)).lastActivityAt).toBe(lastActivity);
  });

  it('wakes the search outbox once it has committed', async () => {
    const customer = await t.create<{ id: string }>('/v1/customers', { name: 'Woken' });
    // A writer of its own, on one connection, so its notifications can be told from other tests'.
    const writer = createDatabase(t.config.databaseUrl, { max: 1 });
    const listener = new pg.Client({ connectionString: t.config.databaseUrl });
    await listener.connect();
    try {
      const pid = (await writer.db.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`))
        .rows[0]!.pid;
      const from: number[] = [];
      listener.on('notification', (n) => {
        if (n.channel === SEARCH_OUTBOX_CHANNEL) from.push(n.processId);
      });
      await listener.query(`listen ${SEARCH_OUTBOX_CHANNEL}`);
      const created = await createConversation(writer.db, customer.id, { channel: 'chat' });
      expect(await outboxOf(created.id)).toEqual(['conversation']);
      await eventually(async () => (from.includes(pid) ? true : undefined), 5_000);
    } finally {
      await listener.end();
      await writer.close();
    }
  });

  it('answers 404 for an unknown customer and writes nothing', async () => {
    const ghost = randomUUID();
    const day = privateIsoDay();
    const body = uniqueWord('ghost');
    const response = await t.call('POST', `/v1/customers/${ghost}/conversations`, {
      body: {
        channel: 'sms',
        createdAt: `${day}T10:00:00.000Z`,
        messages: [{ direction: 'inbound', body }],
      },
    });
    expect(problemOf(response)).toMatchObject({ status: 404, code: 'CUSTOMER_NOT_FOUND' });
    const written = await t.db.execute<{ conversations: number; messages: number }>(sql`
      select (select count(*)::int from conversations where customer_id = ${ghost}) as conversations,
             (select count(*)::int from messages where body = ${body}) as messages`);
    expect(written.rows[0]).toEqual({ conversations: 0, messages: 0 });
    expect(await reportTotal(day)).toBe(0);
    expect(await outboxOf(ghost)).toEqual([]);
  });
});

describe('a KObject create', () => {
  it('writes the KObject and its outbox rows and moves the customer’s last activity', async () => {
    const customer = await t.create<{ id: string }>('/v1/customers', { name: 'Grace Hopper' });
    const created = await t.create<{ id: string; data: unknown; lastActivityAt: string }>(
      `/v1/customers/${customer.id}/kobjects`,
      { klass, title: 'Order', data: { zeta: 1, alpha: { b: 2, a: 1 } } },
    );
    const fetched = (await t.call('GET', `/v1/kobjects/${created.id}`)).json<unknown>();
    expect(fetched).toEqual(created);
    expect(await outboxOf(created.id)).toEqual(['kobject']);
    expect((await customerOf(customer.id)).lastActivityAt).toBe(created.lastActivityAt);
  });

  it('answers 404 for an unknown customer, before looking at the klass, and writes nothing', async () => {
    const ghost = randomUUID();
    for (const name of [klass, 'no_such_klass']) {
      const response = await t.call('POST', `/v1/customers/${ghost}/kobjects`, {
        body: { klass: name, title: 'Nothing' },
      });
      expect(problemOf(response)).toMatchObject({ status: 404, code: 'CUSTOMER_NOT_FOUND' });
    }
    expect(await outboxOf(ghost)).toEqual([]);
  });

  it('answers 422 for an unknown klass and leaves the customer as it was', async () => {
    const customer = await t.create<{ id: string }>('/v1/customers', { name: 'Unchanged' });
    const before = { customer: await customerOf(customer.id), outbox: await outboxOf(customer.id) };
    const response = await t.call('POST', `/v1/customers/${customer.id}/kobjects`, {
      body: { klass: 'no_such_klass', title: 'Nothing' },
    });
    expect(problemOf(response)).toMatchObject({ status: 422, code: 'KLASS_NOT_FOUND' });
    expect(await customerOf(customer.id)).toEqual(before.customer);
    expect(await outboxOf(customer.id)).toEqual(before.outbox);
  });
});
