/**
 * What analysing after an erasure costs: ANALYZE of `customers` (and of
 * `messages`, the largest table an erasure touches) at growing sizes, three
 * on throw-away services: warm-up, then rounds until two agree within 15 %
 * (`bench/measure.ts`). ANALYZE samples at most 300 × default_statistics_target
 * rows (30,000), so its cost grows with the table only until the sample stops
 * being the whole table. Baseline, in the same run: a bare `select count(*)`
 * of the table — one full read of it, what ANALYZE avoids by sampling.
 * Run: node --import tsx bench/analyze.ts
 */
import { sql } from 'drizzle-orm';
import { performance } from 'node:perf_hooks';
import { withThrowawayApp } from './harness';
import type { Database } from '../db/client';
import { machineLine, measure, printMeasured } from './measure';

const sizes = [20_000, 50_000, 100_000];

async function timeAnalyze(db: Database, table: string, title: string): Promise<void> {
  const timed = async (statement: ReturnType<typeof sql>) => {
    const started = performance.now();
    await db.execute(statement);
    return performance.now() - started;
  };
  const measured = await measure(
    async () => ({
      analyze: await timed(sql`analyze ${sql.identifier(table)}`),
      scan: await timed(sql`select count(*) from ${sql.identifier(table)}`),
    }),
    { warmup: 1, runs: 3, maxRounds: 4, check: ['analyze'] },
  );
  printMeasured(title, measured, {
    labels: { analyze: `analyze ${table}`, scan: `bare select count(*) from ${table}` },
    baseline: 'scan',
  });
}

/** Customers with a name, two emails, a phone and attributes, like the API writes them. */
async function addCustomers(db: Database, count: number) {
  await db.execute(sql`
    insert into customers (name, emails, phones, custom_attributes)
    select 'Person ' || md5(g::text),
      jsonb_build_array(jsonb_build_object('address', md5(g::text) || '@example.com', 'preferred', true),
                        jsonb_build_object('address', 'alt.' || md5(g::text) || '@example.org')),
      jsonb_build_array(jsonb_build_object('number', '+44 20 ' || (7000000 + g)::text)),
      jsonb_build_object('plan', (array['gold','silver','free'])[1 + g % 3])
    from generate_series(1, ${count}) g`);
}

/** Ten messages of a few hundred characters per conversation, one conversation per customer. */
async function addMessages(db: Database, customers: number) {
  await db.execute(sql`
    with c as (
      insert into conversations (customer_id, channel, subject)
      select id, 'email', 'Subject ' || md5(id::text) from customers
      order by id limit ${customers} returning id)
    insert into messages (conversation_id, direction, body)
    select c.id, 'inbound', repeat(md5(c.id::text || g::text), 8) from c, generate_series(1, 10) g`);
}

console.log(`at start: ${machineLine()}`);
await withThrowawayApp(
  'analyze',
  async ({ db }) => {
    let rows = 0;
    for (const size of sizes) {
      await addCustomers(db, size - rows);
      rows = size;
      await db.execute(sql`vacuum customers`);
      await timeAnalyze(db, 'customers', `customers at ${size} rows`);
    }
    await addMessages(db, 50_000);
    await db.execute(sql`vacuum messages`);
    await timeAnalyze(db, 'messages', 'messages at 500000 rows');
    console.log(`\nat end: ${machineLine()}`);
  },
  { worker: false },
);
