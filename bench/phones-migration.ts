/**
 * What the phones-e164 data migration costs: customers whose phones were
 * stored in the old shape (no `e164`), two numbers each — international,
 * national (GB) and, one in a hundred, junk — migrated in batches, on
 * throw-away services. Run: node --import tsx bench/phones-migration.ts
 */
import { sql } from 'drizzle-orm';
import { performance } from 'node:perf_hooks';
import { phonesE164 } from '../db/data-migrations/phones-e164';
import { withThrowawayApp } from './harness';

const CUSTOMERS = Number(process.env.CUSTOMERS ?? 100_000);
const BATCH_SIZE = 1_000;

await withThrowawayApp(
  'phones-migration',
  async ({ db }) => {
    await db.execute(sql`
      insert into customers (name, phones)
      select 'Person ' || g,
        jsonb_build_array(
          jsonb_build_object('number', '+44 20 ' || (70000000 + g)::text, 'preferred', true),
          jsonb_build_object('number',
            case when g % 100 = 0 then '+.(045)' || g || '.)' else '020 ' || (80000000 + g)::text end,
            'preferred', false))
      from generate_series(1, ${CUSTOMERS}) g`);
    await db.execute(sql`vacuum analyze customers`);
    const lines: string[] = [];
    const started = performance.now();
    const report = await db.transaction((tx) =>
      phonesE164.run({
        tx,
        log: (line) => lines.push(line),
        env: { PHONE_DEFAULT_REGION: 'GB' },
        batchSize: BATCH_SIZE,
      }),
    );
    const ms = Math.round(performance.now() - started);
    const { unparseableCustomerIds: _ids, ...counts } = report;
    console.log(`phones-e164 on ${CUSTOMERS} customers (batches of ${BATCH_SIZE}): ${ms} ms`);
    console.log(JSON.stringify(counts));
  },
  { worker: false },
);
