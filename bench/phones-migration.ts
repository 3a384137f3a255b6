/**
 * What the phones-e164 data migration costs: customers whose phones were
 * stored in the old shape (no `e164`), two numbers each — international,
 * national (GB) and, one in a hundred, junk — migrated in batches, on
 * throw-away services, in a transaction rolled back after each run so every
 * run migrates the same rows. Warm-up, then rounds until two agree within
 * 15 % (`bench/measure.ts`). Baseline, in the same run, also rolled back: one
 * bare SQL `update` rewriting every customer's phones with an `e164` of the
 * number's digits — the same rows written, without parsing the numbers.
 * Run: node --import tsx bench/phones-migration.ts (CUSTOMERS=100000 by default).
 */
import { sql } from 'drizzle-orm';
import { phonesE164 } from '../db/data-migrations/phones-e164';
import { rolledBack, withThrowawayApp } from './harness';
import { machineLine, measure, printMeasured } from './measure';

const CUSTOMERS = Number(process.env.CUSTOMERS ?? 100_000);
const BATCH_SIZE = 1_000;

console.log(`at start: ${machineLine()}`);
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
    let counts = {};
    const measured = await measure(
      async () => ({
        migration: await rolledBack(db, async (tx) => {
          const { unparseableCustomerIds: _ids, ...rest } = await phonesE164.run({
            tx,
            log: () => undefined,
            env: { PHONE_DEFAULT_REGION: 'GB' },
            batchSize: BATCH_SIZE,
          });
          counts = rest;
        }),
        bare: await rolledBack(db, (tx) =>
          tx.execute(sql`
            update customers set phones = (
              select jsonb_agg(p || jsonb_build_object('e164', '+' || regexp_replace(p->>'number', '\\D', '', 'g')))
              from jsonb_array_elements(phones) p)`),
        ),
      }),
      { warmup: 1, runs: 3, maxRounds: 3 },
    );
    console.log(machineLine());
    printMeasured(
      `phones-e164 on ${CUSTOMERS} customers (batches of ${BATCH_SIZE}), against one bare SQL update of the same rows`,
      measured,
      {
        labels: { migration: 'phones-e164 migration', bare: 'bare SQL update (digits only)' },
        baseline: 'bare',
      },
    );
    console.log(JSON.stringify(counts));
  },
  { worker: false },
);
