/**
 * Webhooks benchmark. Two things, each beside its same-run baseline:
 * 1. The latency webhooks add to the jobs that emit events: small merges
 *    (confirm → completed) with no endpoint subscribed, then with three
 *    loopback endpoints subscribed to every event type while the worker's
 *    dispatcher delivers (each merge emits customer.merged and job.completed).
 * 2. Delivered events per second: a burst of customer.created events
 *    (customers written straight to Postgres, outbox in each transaction)
 *    queued while the endpoints are paused, then timed from their resume to
 *    the last delivery at all three endpoints.
 * Every event must arrive at every endpoint, or the run fails. About 30 s.
 * Run: `npm run bench:webhooks` (BENCH_WEBHOOK_EVENTS, BENCH_WEBHOOK_JOBS to size it).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { createCustomer } from '../db/queries/customers';
import { insertWebhookEndpoint, resumeWebhookEndpoint } from '../db/queries/webhooks';
import { uuidArray } from '../db/sql';
import { webhookEventTypes } from '../domain/webhooks';
import { mergeOnce, withThrowawayApp } from './harness';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 1500);
const JOBS = Number(process.env.BENCH_WEBHOOK_JOBS ?? 30);
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

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function until(what: string, done: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

async function main() {
  await withThrowawayApp(
    'bench-webhooks',
    async ({ app, db, headers }) => {
      const one = (pair: [string, string]) => mergeOnce(app, headers, pair);
      await mergeAll(await seedPairs(db, 5), one);
      const baseline = await mergeAll(await seedPairs(db, JOBS), one);

      const receivers = await Promise.all(Array.from({ length: ENDPOINTS }, startReceiver));
      const [admin] = (await db.execute<{ id: string }>(sql`select id from users limit 1`)).rows;
      for (const r of receivers) {
        await insertWebhookEndpoint(db, {
          url: r.url,
          description: 'bench',
          eventTypes: [...webhookEventTypes],
          enabled: true,
          createdBy: admin!.id,
        });
      }
      const withHooks = await mergeAll(await seedPairs(db, JOBS), one);
      const jobEvents = JOBS * 2;
      await until('the merges’ events', () => receivers.every((r) => r.seen.size >= jobEvents));

      // The burst queues while the endpoints are paused, then a resume lets the
      // dispatcher go flat out: delivery measured alone, not the writing pace.
      await db.execute(sql`update webhook_endpoints set status = 'paused'`);
      const before = receivers.map((r) => r.seen.size);
      const writeStarted = performance.now();
      let written = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (written < EVENTS) {
            written++;
            await createCustomer(db, { name: 'Bench', emails: [], phones: [] });
          }
        }),
      );
      const writtenMs = performance.now() - writeStarted;
      const endpoints = await db.execute<{ id: string }>(sql`select id from webhook_endpoints`);
      const started = performance.now();
      for (const { id } of endpoints.rows) await resumeWebhookEndpoint(db, id);
      await until('every burst event at every endpoint', () =>
        receivers.every((r, i) => r.seen.size - before[i]! >= EVENTS),
      );
      const deliveredMs = Math.max(...receivers.map((r) => r.lastAt())) - started;
      await Promise.all(receivers.map((r) => r.close()));

      console.log(
        `\nmachine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}\n`,
      );
      console.log(
        `${JOBS} merges (concurrency ${JOB_CONCURRENCY}), confirm → completed     p50 ms   p99 ms`,
      );
      const row = (label: string, values: number[]) =>
        console.log(
          `${label.padEnd(52)}${percentile(values, 0.5).toFixed(0).padStart(7)}${percentile(values, 0.99).toFixed(0).padStart(9)}`,
        );
      row('baseline: no endpoint subscribed', baseline);
      row(`with ${ENDPOINTS} endpoints subscribed to every event`, withHooks);
      console.log(
        `added latency: p50 ${(percentile(withHooks, 0.5) - percentile(baseline, 0.5)).toFixed(0)} ms, ` +
          `p99 ${(percentile(withHooks, 0.99) - percentile(baseline, 0.99)).toFixed(0)} ms\n`,
      );
      const deliveries = EVENTS * ENDPOINTS;
      console.log(
        `${EVENTS} customer.created events to ${ENDPOINTS} endpoints (${deliveries} deliveries):`,
      );
      console.log(
        `  written (endpoints paused) in ${(writtenMs / 1000).toFixed(1)} s (${(EVENTS / (writtenMs / 1000)).toFixed(0)} events/s)`,
      );
      console.log(
        `  all delivered ${(deliveredMs / 1000).toFixed(1)} s after the resume: ` +
          `${(EVENTS / (deliveredMs / 1000)).toFixed(0)} events/s, ${(deliveries / (deliveredMs / 1000)).toFixed(0)} deliveries/s`,
      );
    },
    { env: { WEBHOOK_POLL_INTERVAL: '1s' } },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
