/**
 * Webhooks benchmark. Two things, each beside its same-run baseline, in every
 * run of `bench/measure.ts` (warm-up, then rounds until two agree within 15 %):
 * 1. The latency webhooks add to the jobs that emit events: a batch of small
 *    merges (confirm → completed, concurrency 5) with the three loopback
 *    endpoints disabled — nothing subscribed, so nothing is written: the
 *    baseline — then a batch with them enabled, subscribed to every event
 *    type, while the worker's dispatcher delivers (each merge emits
 *    customer.merged and job.completed). Figure: each batch's median.
 * 2. Delivered events per second: a burst of customer.created events
 *    (customers written straight to Postgres, outbox in each transaction)
 *    queued while the endpoints are paused, then timed from their resume to
 *    the last delivery at all three endpoints. Baseline: the same number of
 *    signed POSTs sent straight to the same receivers with the dispatcher's
 *    own `postWebhook`, one at a time per endpoint, endpoints in parallel — the
 *    transport alone, without the database.
 * Every event must arrive at every endpoint, or the run fails. A round (three
 * runs) has the old single run's size: 30 merges each way, 1,500 events.
 * Run: `npm run bench:webhooks` (BENCH_WEBHOOK_EVENTS, BENCH_WEBHOOK_JOBS size one run).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { createCustomer } from '../db/queries/customers';
import {
  insertWebhookEndpoint,
  listWebhookEndpoints,
  resumeWebhookEndpoint,
  signingSecrets,
  updateWebhookEndpoint,
} from '../db/queries/webhooks';
import { uuidArray } from '../db/sql';
import { signatureHeader, webhookEventTypes } from '../domain/webhooks';
import { postWebhook } from '../webhooks/dispatcher';
import type { FastifyInstance } from 'fastify';
import { withThrowawayApp } from './harness';
import { machineLine, measure, median, printMeasured } from './measure';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 500);
const JOBS = Number(process.env.BENCH_WEBHOOK_JOBS ?? 10);
const JOB_CONCURRENCY = 5;
const ENDPOINTS = 3;

/** A receiver on loopback that answers 200 and counts distinct event IDs. */
async function startReceiver() {
  const seen = new Set<string>();
  let lastAt = 0;
  const server = createServer((request, response) => {
    const id = request.headers['custodian-event-id'] as string;
    request.resume();
    request.on('end', () => {
      seen.add(id);
      lastAt = performance.now();
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    seen,
    lastAt: () => lastAt,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function seedPairs(db: Database, count: number): Promise<[string, string][]> {
  const pairs: [string, string][] = Array.from({ length: count }, () => [
    randomUUID(),
    randomUUID(),
  ]);
  const ids = pairs.flat();
  await db.execute(sql`
    insert into customers (id, name)
    select id, 'Bench ' || left(id::text, 8) from unnest(${uuidArray(ids)}) id`);
  await db.execute(sql`
    insert into conversations (customer_id, channel, subject)
    select c, 'chat', 'Bench conversation ' || n
    from unnest(${uuidArray(ids)}) c, generate_series(1, 3) n`);
  return pairs;
}

async function mergeAll(
  pairs: [string, string][],
  one: (pair: [string, string]) => Promise<{ confirmMs: number }>,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: JOB_CONCURRENCY }, async () => {
      while (next < pairs.length) latencies.push((await one(pairs[next++]!)).confirmMs);
    }),
  );
  return latencies;
}

/**
 * Previews and confirms one merge; the confirm's latency to `completed`. A
 * preview the API has not finished within its brief wait answers 202 (the
 * job still pending, as on a loaded machine): it is polled until it awaits
 * confirmation. (harness.ts's `mergeOnce` throws on that 202.)
 */
async function mergeOnce(
  app: FastifyInstance,
  headers: Record<string, string>,
  [source, target]: [string, string],
): Promise<{ confirmMs: number }> {
  const previewed = await app.inject({
    method: 'POST',
    url: '/v1/merges',
    headers,
    payload: { sourceCustomerId: source, targetCustomerId: target },
  });
  if (previewed.statusCode !== 201 && previewed.statusCode !== 202)
    throw new Error(`preview answered ${previewed.statusCode}: ${previewed.body}`);
  const jobId = previewed.json<{ job: { id: string } }>().job.id;
  const status = async () =>
    (await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}`, headers })).json<{
      status: string;
    }>().status;
  if (previewed.statusCode === 202) {
    for (let now = await status(); now !== 'awaiting_confirmation'; now = await status()) {
      if (now !== 'pending' && now !== 'running') throw new Error(`preview ended ${now}`);
      await sleep(10);
    }
  }
  const t1 = performance.now();
  const confirmed = await app.inject({
    method: 'POST',
    url: `/v1/merges/${jobId}/confirm`,
    headers,
  });
  if (confirmed.statusCode === 202) {
    for (let now = await status(); now !== 'completed'; now = await status()) {
      if (now !== 'running' && now !== 'awaiting_confirmation') throw new Error(`job ended ${now}`);
      await sleep(10);
    }
  } else if (confirmed.statusCode !== 200) {
    throw new Error(`confirm answered ${confirmed.statusCode}: ${confirmed.body}`);
  }
  return { confirmMs: performance.now() - t1 };
}

async function until(what: string, done: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

async function main() {
  console.log(`at start: ${machineLine()}`);
  await withThrowawayApp(
    'bench-webhooks',
    async ({ app, db, headers }) => {
      const one = (pair: [string, string]) => mergeOnce(app, headers, pair);
      const receivers = await Promise.all(Array.from({ length: ENDPOINTS }, startReceiver));
      const [admin] = (await db.execute<{ id: string }>(sql`select id from users limit 1`)).rows;
      for (const r of receivers) {
        await insertWebhookEndpoint(db, {
          url: r.url,
          description: 'bench',
          eventTypes: [...webhookEventTypes],
          enabled: false,
          createdBy: admin!.id,
        });
      }
      const endpoints = await listWebhookEndpoints(db);
      const setAll = async (enabled: boolean) => {
        for (const e of endpoints) await updateWebhookEndpoint(db, e.id, { enabled });
      };
      let bareSent = 0;

      const measured = await measure(
        async () => {
          // 1. Merge latency, endpoints disabled (nothing subscribed), then enabled.
          await setAll(false);
          const without = await mergeAll(await seedPairs(db, JOBS), one);
          await setAll(true);
          const seenBefore = receivers.map((r) => r.seen.size);
          const withHooks = await mergeAll(await seedPairs(db, JOBS), one);
          await until('the merges’ events', () =>
            receivers.every((r, i) => r.seen.size - seenBefore[i]! >= JOBS * 2),
          );

          // 2. The burst queues while the endpoints are paused, then a resume lets the
          // dispatcher go flat out: delivery measured alone, not the writing pace.
          await db.execute(sql`update webhook_endpoints set status = 'paused'`);
          const before = receivers.map((r) => r.seen.size);
          let written = 0;
          await Promise.all(
            Array.from({ length: 8 }, async () => {
              while (written < EVENTS) {
                written++;
                await createCustomer(db, { name: 'Bench', emails: [], phones: [] });
              }
            }),
          );
          const started = performance.now();
          for (const { id } of endpoints) await resumeWebhookEndpoint(db, id);
          await until('every burst event at every endpoint', () =>
            receivers.every((r, i) => r.seen.size - before[i]! >= EVENTS),
          );
          const deliveredMs = Math.max(...receivers.map((r) => r.lastAt())) - started;

          // Baseline: the same POSTs, signed, straight to the receivers.
          const bareStarted = performance.now();
          await Promise.all(
            endpoints.map(async (endpoint) => {
              for (let i = 0; i < EVENTS; i++) {
                const id = `bare-${bareSent++}`;
                const body = JSON.stringify({
                  id,
                  type: 'customer.created',
                  occurredAt: new Date().toISOString(),
                  data: { customerId: randomUUID() },
                });
                const t = Math.floor(Date.now() / 1000);
                const outcome = await postWebhook(
                  endpoint.url,
                  {
                    'custodian-event-id': id,
                    'custodian-event-type': 'customer.created',
                    'custodian-delivery-id': id,
                    'custodian-signature': signatureHeader(signingSecrets(endpoint), body, t),
                  },
                  body,
                  10_000,
                );
                if (outcome.errorClass !== null)
                  throw new Error(`bare POST: ${outcome.errorClass}`);
              }
            }),
          );
          const bareMs = performance.now() - bareStarted;
          return {
            withoutMs: median(without),
            withMs: median(withHooks),
            withoutMaxMs: Math.max(...without),
            withMaxMs: Math.max(...withHooks),
            eventsPerS: EVENTS / (deliveredMs / 1000),
            bareEventsPerS: EVENTS / (bareMs / 1000),
          };
        },
        { warmup: 1, runs: 3, maxRounds: 4, check: ['withoutMs', 'withMs', 'eventsPerS'] },
      );
      await Promise.all(receivers.map((r) => r.close()));

      console.log(
        `\n${JOBS} merges each way a run (concurrency ${JOB_CONCURRENCY}); ${EVENTS} customer.created events a run to ${ENDPOINTS} endpoints`,
      );
      console.log(machineLine());
      printMeasured(
        `merge confirm → completed, median of each run's ${JOBS} merges, against the same merges with nothing subscribed`,
        measured,
        {
          labels: {
            withMs: `with ${ENDPOINTS} endpoints subscribed to every event`,
            withoutMs: 'baseline: endpoints disabled',
            withMaxMs: `slowest of ${JOBS}, endpoints subscribed`,
            withoutMaxMs: `slowest of ${JOBS}, endpoints disabled`,
          },
          baseline: 'withoutMs',
        },
      );
      const { medians } = measured.last;
      console.log(`added latency (median): ${(medians.withMs - medians.withoutMs).toFixed(0)} ms`);
      printMeasured(
        `burst delivery, events/s (each to all ${ENDPOINTS} endpoints), against the same POSTs without the database`,
        measured,
        {
          labels: {
            eventsPerS: 'dispatcher, resume → last delivery',
            bareEventsPerS: 'baseline: bare postWebhook loop',
          },
          baseline: 'bareEventsPerS',
          unit: 'events/s',
        },
      );
    },
    { env: { WEBHOOK_POLL_INTERVAL: '1s' } },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
