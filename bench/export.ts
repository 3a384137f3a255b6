/**
 * Customer export benchmark: two customers, each with 10,000 messages (in 100
 * conversations), one with 10,000 engagement events and one with 100,000,
 * exported one after the other through the API in every run of
 * `bench/measure.ts` (warm-up, then rounds until two agree within 15 % on the
 * export times). Prints the time to a ready archive, its size, and the peak
 * memory of the process running API and worker during each export (RSS and V8
 * heap, sampled every 10 ms, over the level just before it): the archive
 * streams, so the peak must not grow with the data. With --expose-gc (the npm
 * script) a full collection runs every second, so the live-heap figure is what
 * the export holds rather than garbage V8 has not yet collected.
 *
 * Baseline, in the same run, right after each export: bare SQL reading the
 * same messages and events in keyset pages of 1,000, each row JSON-serialised
 * and deflated (zlib, as a ZIP entry is) into nothing — reading and
 * compressing without the job, the other files, the CSV copies or the chunked
 * storage — with its memory sampled the same way.
 * Run: `npm run bench:export` (EXPORT_EVENTS=10000,100000 by default; EXPORT_EVENTS=10000
 * for a quicker run: the default took 21 min at load average 12–18 on 2 cores).
 */
import { sql } from 'drizzle-orm';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDeflateRaw } from 'node:zlib';
import type { Database } from '../db/client';
import { withThrowawayApp, type Harness } from './harness';
import { machineLine, measure, printMeasured } from './measure';

const EVENT_COUNTS = (process.env.EXPORT_EVENTS ?? '10000,100000').split(',').map(Number);
const MESSAGES = Number(process.env.EXPORT_MESSAGES ?? 10_000);
const CONVERSATIONS = 100;
const PAGE = 1000;
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

interface Memory {
  /** Peak RSS and V8 heap over their level just before, MiB. */
  rss: number;
  heap: number;
  /** Largest heap still reachable after a full collection (every second), over the level before, MiB; 0 without --expose-gc or under a second. */
  live: number;
}

/** Runs `work` while sampling memory every 10 ms. */
async function sampled<T>(
  work: () => Promise<T>,
): Promise<{ ms: number; memory: Memory; value: T }> {
  global.gc?.();
  const before = process.memoryUsage();
  const peak = { rss: before.rss, heap: before.heapUsed, live: before.heapUsed };
  let ticks = 0;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heap = Math.max(peak.heap, now.heapUsed);
    if (global.gc && ++ticks % 100 === 0) {
      global.gc();
      peak.live = Math.max(peak.live, process.memoryUsage().heapUsed);
    }
  }, 10);
  const t0 = performance.now();
  try {
    const value = await work();
    const ms = performance.now() - t0;
    return {
      ms,
      value,
      memory: {
        rss: (peak.rss - before.rss) / MiB,
        heap: (peak.heap - before.heapUsed) / MiB,
        live: (peak.live - before.heapUsed) / MiB,
      },
    };
  } finally {
    clearInterval(sampler);
  }
}

async function exportOnce({ app, db, headers }: Harness, customerId: string) {
  const started = await app.inject({
    method: 'POST',
    url: `/v1/customers/${customerId}/exports`,
    headers,
    payload: {},
  });
  if (started.statusCode !== 202) throw new Error(`start answered ${started.statusCode}`);
  const exportId = started.json<{ export: { id: string } }>().export.id;
  for (;;) {
    const [row] = (
      await db.execute<{ status: string; size: number | null; counts: Record<string, number> }>(
        sql`select status, size, counts from export_archives where id = ${exportId}`,
      )
    ).rows;
    if (row!.status === 'ready') return row!;
    if (row!.status !== 'building') throw new Error(`export ended ${row!.status}`);
    await sleep(20);
  }
}

/** The baseline: the same messages and events, read, serialised and deflated into nothing. */
async function bareRead(db: Database, customerId: string): Promise<number> {
  const deflate = createDeflateRaw();
  let bytes = 0;
  deflate.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const write = (text: string) =>
    new Promise<void>((resolve, reject) =>
      deflate.write(text, (error) => (error ? reject(error) : resolve())),
    );
  const pages = async (page: (after: string) => ReturnType<typeof db.execute<{ id: string }>>) => {
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const { rows } = await page(after);
      if (rows.length === 0) return;
      await write(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]!.id;
    }
  };
  await pages((after) =>
    db.execute<{ id: string }>(sql`
      select m.* from messages m join conversations c on c.id = m.conversation_id
      where c.customer_id = ${customerId} and m.id > ${after} order by m.id limit ${PAGE}`),
  );
  await pages((after) =>
    db.execute<{ id: string }>(sql`
      select * from engagement_events
      where customer_id = ${customerId} and id > ${after} order by id limit ${PAGE}`),
  );
  await new Promise<void>((resolve) => deflate.end(resolve));
  return bytes;
}

async function main() {
  console.log(`at start: ${machineLine()}`);
  await withThrowawayApp('bench-export', async (harness) => {
    const customers: { events: number; id: string }[] = [];
    for (const events of EVENT_COUNTS)
      customers.push({ events, id: await seedCustomer(harness.db, events) });
    await harness.db.execute(sql`analyze`);
    const sizes = new Map<number, { archive: number; bare: number; records: number }>();

    const measured = await measure(
      async () => {
        const figures: Record<string, number> = {};
        for (const { events, id } of customers) {
          const exported = await sampled(() => exportOnce(harness, id));
          const bare = await sampled(() => bareRead(harness.db, id));
          const records = Object.values(exported.value.counts).reduce((sum, n) => sum + n, 0);
          sizes.set(events, { archive: exported.value.size ?? 0, bare: bare.value, records });
          Object.assign(figures, {
            [`ms${events}`]: exported.ms,
            [`bareMs${events}`]: bare.ms,
            [`rss${events}`]: exported.memory.rss,
            [`bareRss${events}`]: bare.memory.rss,
            [`heap${events}`]: exported.memory.heap,
            [`bareHeap${events}`]: bare.memory.heap,
            [`live${events}`]: exported.memory.live,
            [`bareLive${events}`]: bare.memory.live,
          });
        }
        return figures;
      },
      { warmup: 1, runs: 3, maxRounds: 4, check: EVENT_COUNTS.map((e) => `ms${e}`) },
    );

    console.log(
      `\ncustomer export, ${MESSAGES} messages each; memory of the process running API and worker`,
    );
    console.log(machineLine());
    for (const events of EVENT_COUNTS) {
      const size = sizes.get(events)!;
      printMeasured(
        `${events} events: export → ready (${size.records} records, archive ${(size.archive / MiB).toFixed(1)} MiB), against bare SQL read + deflate of messages and events (${(size.bare / MiB).toFixed(1)} MiB deflated)`,
        measured,
        {
          labels: { [`ms${events}`]: 'export → ready', [`bareMs${events}`]: 'bare read + deflate' },
          baseline: `bareMs${events}`,
        },
      );
      printMeasured(`${events} events: memory over the level before, MiB`, measured, {
        labels: {
          [`rss${events}`]: 'export: peak RSS',
          [`heap${events}`]: 'export: peak heap',
          [`live${events}`]: global.gc
            ? 'export: live heap after GC'
            : 'live heap (no --expose-gc)',
          [`bareRss${events}`]: 'bare: peak RSS',
          [`bareHeap${events}`]: 'bare: peak heap',
          [`bareLive${events}`]: 'bare: live heap after GC',
        },
        unit: 'MiB',
      });
    }
    console.log(
      `\nprocess RSS high-water mark (maxRSS, whole run): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
