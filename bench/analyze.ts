/**
 * What analysing after an erasure costs: ANALYZE of `customers` (and of
 * `messages`, the largest table an erasure touches) at growing sizes, three
 * runs each, on throw-away services. ANALYZE samples at most 300 ×
 * default_statistics_target rows (30,000), so its cost grows with the table
 * only until the sample stops being the whole table.
 */
import { sql } from 'drizzle-orm';
import { performance } from 'node:perf_hooks';
import { withThrowawayApp } from './harness';
import type { Database } from '../db/client';

const sizes = [20_000, 50_000, 100_000];
const RUNS = 3;

async function timeAnalyze(db: Database, table: string): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    await db.execute(sql`analyze ${sql.identifier(table)}`);
    times.push(Math.round(performance.now() - started));
  }
  return times;
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

await withThrowawayApp(
  'analyze',
  async ({ db }) => {
    let rows = 0;
    for (const size of sizes) {
      await addCustomers(db, size - rows);
      rows = size;
      await db.execute(sql`vacuum customers`);
      console.log(
        `analyze customers at ${size} rows: ${(await timeAnalyze(db, 'customers')).join(' / ')} ms`,
      );
    }
    await addMessages(db, 50_000);
    await db.execute(sql`vacuum messages`);
    console.log(
      `analyze messages at 500000 rows: ${(await timeAnalyze(db, 'messages')).join(' / ')} ms`,
    );
  },
  { worker: false },
);
