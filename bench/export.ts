/**
 * Customer export benchmark: two customers, each with 10,000 messages (in 100
 * conversations), one with 10,000 engagement events and one with 100,000,
 * exported one after the other through the API. Prints the time to a ready
 * archive, its size, and the peak memory of the process running API and
 * worker during each export (RSS and V8 heap, sampled every 10 ms, over the
 * level just before it): the archive streams, so the peak must not grow with
 * the data. With --expose-gc (the npm script) a full collection runs every
 * second, so the peak is what the export holds rather than garbage V8 has not
 * yet collected; without it, the peak includes that garbage.
 * Run: `npm run bench:export` (EXPORT_EVENTS=10000,100000 by default).
 */
import { sql } from 'drizzle-orm';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/client';
import { withThrowawayApp, type Harness } from './harness';

const EVENT_COUNTS = (process.env.EXPORT_EVENTS ?? '10000,100000').split(',').map(Number);
const MESSAGES = Number(process.env.EXPORT_MESSAGES ?? 10_000);
const CONVERSATIONS = 100;
const MiB = 2 ** 20;

async function seedCustomer(db: Database, events: number): Promise<string> {
  const [customer] = (
    await db.execute<{ id: string }>(sql`
      insert into customers (name, emails) values ('Bench person',
        '[{"address": "bench@example.org", "preferred": true}]'::jsonb) returning id`)
  ).rows;
  const id = customer!.id;
  await db.execute(sql`
    insert into conversations (customer_id, channel, subject)
    select ${id}, 'email', 'Bench conversation ' || n from generate_series(1, ${CONVERSATIONS}) n`);
  await db.execute(sql`
    insert into messages (conversation_id, direction, body, sent_at)
    select v.id, 'inbound', 'Bench message ' || n || ' ' || repeat('lorem ipsum ', 20),
      now() - n * interval '1 minute'
    from conversations v cross join generate_series(1, ${MESSAGES / CONVERSATIONS}) n
    where v.customer_id = ${id}`);
  await db.execute(sql`
    insert into engagement_events (customer_id, type, occurred_at, properties)
    select ${id}, 'page_view', now() - n * interval '1 second',
      jsonb_build_object('url', 'https://example.org/page/' || n, 'referrer', 'https://search.example/')
    from generate_series(1, ${events}) n`);
  return id;
}

interface Sample {
  rss: number;
  heap: number;
}
const sample = (): Sample => {
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
};

async function exportOnce({ app, db, headers }: Harness, customerId: string) {
  global.gc?.();
  const before = sample();
  const peak = { ...before };
  let ticks = 0;
  const live = { heap: 0 };
  const sampler = setInterval(() => {
    const now = sample();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heap = Math.max(peak.heap, now.heap);
    // Every second, what is still reachable after a full collection: the memory the export holds.
    if (global.gc && ++ticks % 100 === 0) {
      global.gc();
      live.heap = Math.max(live.heap, process.memoryUsage().heapUsed);
    }
  }, 10);
  const t0 = performance.now();
  const started = await app.inject({
    method: 'POST',
    url: `/v1/customers/${customerId}/exports`,
    headers,
    payload: {},
  });
  if (started.statusCode !== 202) throw new Error(`start answered ${started.statusCode}`);
  const exportId = started.json<{ export: { id: string } }>().export.id;
  let archive: { status: string; size: number | null; counts: Record<string, number> };
  for (;;) {
    const [row] = (
      await db.execute<{ status: string; size: number | null; counts: Record<string, number> }>(
        sql`select status, size, counts from export_archives where id = ${exportId}`,
      )
    ).rows;
    archive = row!;
    if (archive.status !== 'building') break;
    await sleep(20);
  }
  const ms = performance.now() - t0;
  clearInterval(sampler);
  if (archive.status !== 'ready') throw new Error(`export ended ${archive.status}`);
  return { ms, archive, before, peak, live };
}

async function main() {
  await withThrowawayApp('bench-export', async (harness) => {
    const customers: { events: number; id: string }[] = [];
    for (const events of EVENT_COUNTS)
      customers.push({ events, id: await seedCustomer(harness.db, events) });
    await harness.db.execute(sql`analyze`);
    console.log(
      `customer export, ${MESSAGES} messages each; memory of the process running API and worker`,
    );
    console.log(
      'events   | messages | time     | archive   | records/s | peak RSS (over start) | peak heap (over start) | live heap after GC',
    );
    for (const customer of customers) {
      const { ms, archive, before, peak, live } = await exportOnce(harness, customer.id);
      const records = Object.values(archive.counts).reduce((sum, n) => sum + n, 0);
      console.log(
        [
          String(archive.counts.events).padEnd(8),
          String(archive.counts.messages).padEnd(8),
          `${(ms / 1000).toFixed(2)} s`.padEnd(8),
          `${((archive.size ?? 0) / MiB).toFixed(1)} MiB`.padEnd(9),
          String(Math.round(records / (ms / 1000))).padEnd(9),
          `${(peak.rss / MiB).toFixed(0)} MiB (+${((peak.rss - before.rss) / MiB).toFixed(0)})`.padEnd(
            21,
          ),
          `${(peak.heap / MiB).toFixed(0)} MiB (+${((peak.heap - before.heap) / MiB).toFixed(0)})`.padEnd(
            22,
          ),
          global.gc
            ? `${(live.heap / MiB).toFixed(0)} MiB (+${((live.heap - before.heap) / MiB).toFixed(0)})`
            : 'n/a (no --expose-gc)',
        ].join(' | '),
      );
    }
    console.log(
      `process RSS high-water mark (maxRSS, whole run): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
