/**
 * An erased customer's engagement events go with the customer, by a single
 * DELETE and by a bulk erasure alike; another customer's events all stay.
 * Checked by the events' row IDs in Postgres.
 */
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engagementEvents } from '../../db/schema';
import { testConfig, uniqueWord, type TestApp } from '../helpers';
import { jobWhenFinished, startBulkErasure, startJobTestApp, type Job } from '../job-helpers';

let t: TestApp;
beforeAll(async () => {
  // Batches of two: the bulk case spans several batches.
  ({ t } = await startJobTestApp(testConfig({ BULK_BATCH_SIZE: '2' })));
});
afterAll(() => t.close());

/** A customer with `n` events recorded through the API, and the events' IDs as the API lists them. */
async function customerWithEvents(n: number): Promise<{ id: string; eventIds: string[] }> {
  const customer = await t.create('/v1/customers', { name: `Eve ${uniqueWord()}` });
  const events = Array.from({ length: n }, (_, i) => ({
    type: i % 2 ? 'page_view' : 'email_open',
    occurredAt: new Date(Date.UTC(2025, 0, 1, 12, i)).toISOString(),
    properties: { path: `/p/${i}` },
    ...(i % 3 === 0 ? { externalId: `ext-${i}` } : {}),
  }));
  const sent = await t.call('POST', `/v1/customers/${customer.id}/events`, { body: { events } });
  expect(sent.statusCode, sent.body).toBe(201);
  const listed = await t.call('GET', `/v1/customers/${customer.id}/events?limit=100`);
  expect(listed.statusCode, listed.body).toBe(200);
  const eventIds = listed.json<{ items: { id: string }[] }>().items.map((e) => e.id);
  expect(eventIds).toHaveLength(n);
  return { id: customer.id, eventIds };
}

/** The IDs among `ids` that engagement_events still holds, sorted. */
async function eventRowsAmong(ids: string[]): Promise<string[]> {
  const rows = await t.db
    .select({ id: engagementEvents.id })
    .from(engagementEvents)
    .where(inArray(engagementEvents.id, ids));
  return rows.map((row) => row.id).sort();
}

/** Event rows that still point at this customer ID, whatever their ID (orphans). */
async function eventRowsOf(customerId: string): Promise<string[]> {
  const rows = await t.db
    .select({ id: engagementEvents.id })
    .from(engagementEvents)
    .where(eq(engagementEvents.customerId, customerId));
  return rows.map((row) => row.id);
}

describe("an erased customer's engagement events", () => {
  it('are gone after a single DELETE; the other customer keeps every one of theirs', async () => {
    const erased = await customerWithEvents(7);
    const kept = await customerWithEvents(5);

    const response = await t.call('DELETE', `/v1/customers/${erased.id}`, {
      body: { confirm: 'DELETE' },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<{ job: Job }>().job.status).toBe('completed');

    expect(await eventRowsAmong(erased.eventIds)).toEqual([]);
    expect(await eventRowsOf(erased.id)).toEqual([]);
    expect(await eventRowsAmong(kept.eventIds)).toEqual([...kept.eventIds].sort());
    expect((await t.call('GET', `/v1/customers/${kept.id}/events?limit=100`)).json()).toMatchObject(
      { items: kept.eventIds.map((id) => ({ id, customerId: kept.id })) },
    );
  });

  it('are gone after a bulk erasure, for every erased customer; bystanders keep every one of theirs', async () => {
    const erased = [
      await customerWithEvents(4),
      await customerWithEvents(6),
      await customerWithEvents(3),
    ];
    const kept = [await customerWithEvents(5), await customerWithEvents(2)];

    const { preview, job: started } = await startBulkErasure(t, {
      entity: 'customers',
      ids: erased.map((c) => c.id),
    });
    expect(preview.selection.count).toBe(erased.length);
    const job = await jobWhenFinished(t, started.id);
    expect(job).toMatchObject({ status: 'completed', progress: { total: 3, done: 3, failed: 0 } });

    expect(await eventRowsAmong(erased.flatMap((c) => c.eventIds))).toEqual([]);
    for (const customer of erased) expect(await eventRowsOf(customer.id)).toEqual([]);
    const keptIds = kept.flatMap((c) => c.eventIds);
    expect(await eventRowsAmong(keptIds)).toEqual([...keptIds].sort());
  });
});
