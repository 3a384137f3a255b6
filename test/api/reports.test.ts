import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customers } from '../../db/schema';
import { privateDay, problemOf, reportLanes, startTestApp, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('conversation report', () => {
  it('counts conversations per day, channel and status, and keeps them when customers are deleted', async () => {
    const day = privateDay(reportLanes.reports);
    const next = new Date(day.getTime() + 86_400_000);
    const iso = (d: Date) => d.toISOString().slice(0, 10);
    const customer = (await t.call('POST', '/v1/customers', { body: { name: 'Reported' } })).json<{
      id: string;
    }>();
    const start = async (channel: string, at: Date) =>
      (
        await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
          body: { channel, createdAt: at.toISOString() },
        })
      ).json<{ id: string }>();

    await start('email', day);
    await start('email', day);
    const chat = await start('chat', day);
    await start('chat', next);
    await t.call('PATCH', `/v1/conversations/${chat.id}`, { body: { status: 'done' } });

    const url = `/v1/reports/conversations?from=${iso(day)}&to=${iso(next)}`;
    const expected = {
      total: 4,
      rows: [
        { day: iso(day), channel: 'email', status: 'open', conversations: 2 },
        { day: iso(day), channel: 'chat', status: 'done', conversations: 1 },
        { day: iso(next), channel: 'chat', status: 'open', conversations: 1 },
      ],
    };
    const report = await t.call('GET', url);
    expect(report.statusCode).toBe(200);
    expect(report.json()).toEqual({ from: iso(day), to: iso(next), ...expected });

    const onlyChat = await t.call('GET', `${url}&channel=chat`);
    expect(onlyChat.json<{ total: number }>().total).toBe(2);

    await t.db.delete(customers).where(eq(customers.id, customer.id));
    expect((await t.call('GET', `/v1/customers/${customer.id}`)).statusCode).toBe(404);
    expect((await t.call('GET', url)).json()).toEqual({
      from: iso(day),
      to: iso(next),
      ...expected,
    });
  });

  it.each([
    ['from after to', 'from=2026-02-01&to=2026-01-01', 'INVALID_DATE_RANGE'],
    ['more than a year', 'from=2024-01-01&to=2026-01-01', 'INVALID_DATE_RANGE'],
    ['a malformed date', 'from=yesterday&to=2026-01-01', 'VALIDATION_FAILED'],
    ['a missing bound', 'from=2026-01-01', 'VALIDATION_FAILED'],
  ])('refuses %s with 400', async (_what, query, code) => {
    const response = await t.call('GET', `/v1/reports/conversations?${query}`);
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).code).toBe(code);
  });
});
