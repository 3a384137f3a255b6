/**
 * Throughput: 40 events per second for a minute, each delivered to three
 * endpoints, with none lost and none duplicated (counted by event ID; with no
 * failure, at-least-once means exactly once here), and delivery keeping pace with the events (lag stays bounded). About 70 s.
 */
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createCustomer } from '../../db/queries/customers';
import { webhookDeliveries, webhookEndpoints } from '../../db/schema';
import { startWebhookDispatcher, type WebhookDispatcher } from '../../webhooks/dispatcher';
import { eventually, startTestApp, type TestApp } from '../helpers';
import { Receiver } from './receiver';

const RATE = 40;
const SECONDS = Number(process.env.THROUGHPUT_SECONDS ?? 60);

let t: TestApp;
let dispatcher: WebhookDispatcher;
const receivers: Receiver[] = [];
const endpointIds: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
  dispatcher = startWebhookDispatcher({
    db: t.db,
    onlyEndpoints: () => endpointIds,
    databaseUrl: t.config.databaseUrl,
    config: t.config.webhooks,
  });
});
afterAll(async () => {
  await dispatcher.stop();
  for (const id of endpointIds)
    await t.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

it(`delivers ${RATE} events/s for ${SECONDS} s to three endpoints, none lost or duplicated`, async () => {
  for (let i = 0; i < 3; i++) {
    const r = await new Receiver().start();
    receivers.push(r);
    const endpoint = await t.create<{ id: string }>('/v1/webhooks', {
      url: r.url,
      eventTypes: ['customer.created'],
    });
    endpointIds.push(endpoint.id);
  }
  const created: string[] = [];
  const writes: Promise<void>[] = [];
  const started = Date.now();
  const total = RATE * SECONDS;
  // Paced by the clock: each tick issues what the schedule is owed, so a slow write delays none after it.
  let issued = 0;
  while (issued < total) {
    const owed = Math.min(total, Math.floor(((Date.now() - started) / 1000) * RATE) + 1);
    for (; issued < owed; issued++) {
      writes.push(
        createCustomer(t.db, { name: 'Throughput', emails: [], phones: [] }).then(({ id }) => {
          created.push(id);
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await Promise.all(writes);
  const emittedInMs = Date.now() - started;
  const emittedRate = total / (emittedInMs / 1000);
  expect(emittedRate).toBeGreaterThan(RATE * 0.9);

  const mine = new Set(created);
  const ofMine = (r: Receiver) =>
    r.received.filter((x) => mine.has(x.event.data.customerId as string));
  const progress = setInterval(() => {
    console.log(
      `received so far: ${receivers.map((r) => ofMine(r).length).join(', ')} of ${total}`,
    );
  }, 5_000);
  await eventually(
    async () => (receivers.every((r) => ofMine(r).length >= total) ? true : undefined),
    30_000,
    `all ${total} events at each of the three endpoints`,
  ).finally(() => clearInterval(progress));
  const finished = Date.now() - started;
  for (const r of receivers) {
    const got = ofMine(r);
    const distinct = new Set(got.map((x) => x.event.id));
    expect(distinct.size).toBe(total);
    expect(got.length - distinct.size).toBe(0);
    // Overlapping transactions may make a later `seq` visible first, so across
    // customers the order is the order of visibility; counted, not asserted
    // (one customer's events keep their order: test/api/webhooks.test.ts).
    const recorded = await t.db
      .select({ eventId: webhookDeliveries.eventId })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, endpointIds[receivers.indexOf(r)]!))
      .orderBy(asc(webhookDeliveries.seq));
    const seqOf = new Map(recorded.map((row, i) => [row.eventId, i]));
    const seqs = got.map((x) => seqOf.get(x.event.id)!);
    let highest = -1;
    let overtaken = 0;
    for (const seq of seqs) {
      if (seq < highest) overtaken++;
      highest = Math.max(highest, seq);
    }
    const lags = got.map((x) => x.at - Date.parse(x.event.occurredAt)).sort((a, b) => a - b);
    const p95 = lags[Math.floor(lags.length * 0.95)]!;
    console.log(
      `endpoint: ${distinct.size} events, ${overtaken} arrived after a later-recorded one, p95 lag ${p95} ms, max ${lags.at(-1)} ms; ` +
        `emitted at ${emittedRate.toFixed(1)}/s, all delivered ${finished - emittedInMs} ms after the last`,
    );
    // Keeping pace: a dispatcher slower than the events would fall ever further
    // behind (minutes, at the end of a minute). The bound is loose because the
    // test machine is shared (2 cores, load average above 10 seen). Seen: p95
    // 80 ms, all delivered 0.1 s after the last event (12 s p95 before a
    // NOTIFY arriving mid-round was kept instead of waiting for the next poll).
    expect(p95).toBeLessThan(20_000);
    expect(finished - emittedInMs).toBeLessThan(20_000);
  }
}, 150_000);
