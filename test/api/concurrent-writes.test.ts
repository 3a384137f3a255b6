import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldConversationStatChanges } from '../../db/queries/reporting';
import { eventually, privateDay, reportLanes, startTestApp, type TestApp } from '../helpers';

/**
 * An integration importing a customer's history sends many writes at once;
 * every one must succeed, whichever customer they touch.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await t.call('POST', '/v1/klasses', { body: { name: 'concurrent_order', title: 'Order' } });
});
afterAll(() => t.close());

const PARALLEL = 40;

const customer = () => t.create<{ id: string }>('/v1/customers', { name: 'Parallel Importer' });

/** A day no other test file writes to, so the report's cells are this test's alone. */
const privateIsoDay = () => privateDay(reportLanes.concurrentWrites).toISOString().slice(0, 10);

function expectAll(responses: LightMyRequestResponse[], status: number) {
  const failed = responses.filter((r) => r.statusCode !== status);
  expect(
    failed.map((r) => `${r.statusCode} ${r.body}`),
    `${failed.length} of ${responses.length} failed`,
  ).toEqual([]);
}

async function countOf(table: 'conversations' | 'kobjects', customerId: string) {
  const result = await t.db.execute<{ n: number }>(
    sql`select count(*)::int as n from ${sql.identifier(table)} where customer_id = ${customerId}`,
  );
  return result.rows[0]!.n;
}

const report = async (day: string) =>
  (await t.call('GET', `/v1/reports/conversations?from=${day}&to=${day}`)).json<{
    total: number;
    rows: { channel: string; status: string; conversations: number }[];
  }>();

describe('parallel writes to one customer', () => {
  it(`creates ${PARALLEL} conversations at once, all 201, and counts them in the report`, async () => {
    const { id } = await customer();
    const day = privateIsoDay();
    const latest = `${day}T12:00:00.000Z`;
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        t.call('POST', `/v1/customers/${id}/conversations`, {
          body: {
            channel: i % 2 ? 'chat' : 'email',
            createdAt: i === 7 ? latest : `${day}T08:00:00.000Z`,
            messages: [{ direction: 'inbound', body: `Imported ${i}` }],
          },
        }),
      ),
    );
    expectAll(responses, 201);
    expect(await countOf('conversations', id)).toBe(PARALLEL);
    const after = (await t.call('GET', `/v1/customers/${id}`)).json<{ lastActivityAt: string }>();
    expect(after.lastActivityAt >= latest).toBe(true);
    expect(await report(day)).toMatchObject({
      total: PARALLEL,
      rows: [
        { channel: 'email', status: 'open', conversations: PARALLEL / 2 },
        { channel: 'chat', status: 'open', conversations: PARALLEL / 2 },
      ],
    });
  });

  it(`creates ${PARALLEL} KObjects at once, all 201`, async () => {
    const { id } = await customer();
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        t.call('POST', `/v1/customers/${id}/kobjects`, {
          body: { klass: 'concurrent_order', title: `Order ${i}`, data: { i } },
        }),
      ),
    );
    expectAll(responses, 201);
    expect(await countOf('kobjects', id)).toBe(PARALLEL);
  });

  it('takes conversations, KObjects, messages and status changes on one customer at once', async () => {
    const { id } = await customer();
    const day = privateIsoDay();
    const seeded = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.create(`/v1/customers/${id}/conversations`, {
          channel: 'sms',
          status: i % 2 ? 'done' : 'open',
          createdAt: `${day}T09:00:00.000Z`,
        }),
      ),
    );
    const writes: Promise<LightMyRequestResponse>[] = [];
    for (let i = 0; i < PARALLEL; i++) {
      const conversation = seeded[i % seeded.length]!;
      switch (i % 4) {
        case 0:
          writes.push(
            t.call('POST', `/v1/customers/${id}/conversations`, {
              body: { channel: 'sms', createdAt: `${day}T10:00:00.000Z` },
            }),
          );
          break;
        case 1:
          writes.push(
            t.call('POST', `/v1/customers/${id}/kobjects`, {
              body: { klass: 'concurrent_order', title: `Mixed ${i}` },
            }),
          );
          break;
        case 2:
          writes.push(
            t.call('POST', `/v1/conversations/${conversation.id}/messages`, {
              body: { direction: 'outbound', body: `Reply ${i}` },
            }),
          );
          break;
        default:
          // Swaps statuses both ways, so two changes lock the report's cells in opposite orders.
          writes.push(
            t.call('PATCH', `/v1/conversations/${conversation.id}`, {
              body: { status: i % 8 === 3 ? 'snoozed' : 'open' },
            }),
          );
      }
    }
    const responses = await Promise.all(writes);
    expect(
      responses.filter((r) => r.statusCode >= 300).map((r) => `${r.statusCode} ${r.body}`),
    ).toEqual([]);
    expect(await countOf('conversations', id)).toBe(20);
    expect(await countOf('kobjects', id)).toBe(10);

    const statuses = await t.db.execute<{ status: string; n: number }>(
      sql`select status, count(*)::int as n from conversations where customer_id = ${id} group by status`,
    );
    const expected = Object.fromEntries(statuses.rows.map((r) => [r.status, r.n]));
    const counted = await report(day);
    expect(counted.total).toBe(20);
    expect(Object.fromEntries(counted.rows.map((r) => [r.status, r.conversations]))).toEqual(
      expected,
    );
  });
});

describe('parallel writes across customers', () => {
  it('creates conversations for many customers on one report cell, all 201, counted exactly', async () => {
    const customers = await Promise.all(Array.from({ length: 8 }, () => customer()));
    const day = privateIsoDay();
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        t.call('POST', `/v1/customers/${customers[i % customers.length]!.id}/conversations`, {
          body: { channel: 'voice', createdAt: `${day}T11:00:00.000Z` },
        }),
      ),
    );
    expectAll(responses, 201);
    const flips = await Promise.all(
      responses.slice(0, 10).map((r) =>
        t.call('PATCH', `/v1/conversations/${r.json<{ id: string }>().id}`, {
          body: { status: 'done' },
        }),
      ),
    );
    expectAll(flips, 200);
    expect(await report(day)).toMatchObject({
      total: PARALLEL,
      rows: [
        { channel: 'voice', status: 'open', conversations: PARALLEL - 10 },
        { channel: 'voice', status: 'done', conversations: 10 },
      ],
    });
  });
});

describe('report counters', () => {
  it('give the same report before and after the change log is folded into the daily totals', async () => {
    const { id } = await customer();
    const day = privateIsoDay();
    const created = await Promise.all(
      Array.from({ length: 6 }, () =>
        t.create(`/v1/customers/${id}/conversations`, {
          channel: 'social',
          createdAt: `${day}T07:00:00.000Z`,
        }),
      ),
    );
    await t.call('PATCH', `/v1/conversations/${created[0]!.id}`, { body: { status: 'done' } });
    const before = await report(day);
    expect(before.total).toBe(6);

    await eventually(async () => {
      await foldConversationStatChanges(t.db);
      const left = await t.db.execute<{ n: number }>(
        sql`select count(*)::int as n from conversation_stat_changes where day = ${day}`,
      );
      return left.rows[0]!.n === 0 ? true : undefined;
    });
    expect(await report(day)).toEqual(before);

    await t.call('PATCH', `/v1/conversations/${created[1]!.id}`, { body: { status: 'snoozed' } });
    expect(await report(day)).toMatchObject({
      total: 6,
      rows: [
        { status: 'open', conversations: 4 },
        { status: 'snoozed', conversations: 1 },
        { status: 'done', conversations: 1 },
      ],
    });
  });
});
