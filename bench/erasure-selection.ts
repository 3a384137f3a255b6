/**
 * Exact selection benchmark: how long a saved search takes to select its
 * exact matches from Postgres (operations/erasure-selection.ts) among N
 * customers (2 emails, a phone and an external ID each, a company for every
 * tenth), for a query that matches all of them, one that matches 1 in 100,
 * one that matches one customer, and a company filter without a query.
 * Warm-up, then rounds until two agree within 15 % (`bench/measure.ts`).
 * Baseline, in the same run, alternating with the selection: bare SQL reading
 * the rows it has to read — every customer row in keyset pages of 5,000 for a
 * query; the company's customers' IDs for the company filter — without
 * building documents or matching them.
 * Run: `node --import tsx bench/erasure-selection.ts` (SELECTION_CUSTOMERS=20000,100000 by default).
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { withThrowawayApp } from './harness';
import { machineLine, measure, printMeasured } from './measure';
import { selectExactMatches, type SelectionSearch } from '../operations/erasure-selection';

const SIZES = (process.env.SELECTION_CUSTOMERS ?? '20000,100000').split(',').map(Number);
const PAGE = 5_000;

/** Every customer row, page by page, as the selection reads them. */
async function bareReadAll(db: Database): Promise<number> {
  let rows = 0;
  await db.transaction(
    async (tx) => {
      for (let after = '00000000-0000-0000-0000-000000000000'; ;) {
        const page = await tx.execute<{ id: string }>(
          sql`select * from customers where id > ${after} order by id limit ${PAGE}`,
        );
        rows += page.rows.length;
        if (page.rows.length < PAGE) return;
        after = page.rows.at(-1)!.id;
      }
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  return rows;
}

async function main() {
  console.log(`at start: ${machineLine()}`);
  await withThrowawayApp(
    'bench-selection',
    async ({ db }) => {
      const company = await db.execute<{ id: string }>(
        sql`insert into companies (name) values ('Selection bench') returning id`,
      );
      const companyId = company.rows[0]!.id;
      let loaded = 0;
      for (const size of SIZES) {
        await db.execute(sql`
          insert into customers (name, company_id, emails, phones, external_id)
          select 'Bench Customer ' || n || case when n % 100 = 0 then ' Hundredth' else '' end,
            case when n % 10 = 0 then ${companyId}::uuid end,
            jsonb_build_array(
              jsonb_build_object('address', 'bench' || n || '@one.example', 'preferred', true),
              jsonb_build_object('address', 'bench' || n || '@two.example', 'preferred', false)),
            jsonb_build_array(jsonb_build_object('number', '+44 20 ' || (10000000 + n), 'preferred', true)),
            'crm-' || n
          from generate_series(${loaded + 1}::int, ${size}::int) n`);
        loaded = size;
        await db.execute(sql`vacuum analyze customers`);
        const searches: [string, SelectionSearch][] = [
          ['every customer ("bench")', { index: 'customers', query: 'bench', filters: {} }],
          ['1 in 100 ("hundredth")', { index: 'customers', query: 'hundredth', filters: {} }],
          ['one external ID ("crm-4242")', { index: 'customers', query: 'crm-4242', filters: {} }],
          [
            'a company filter, no query (1 in 10)',
            { index: 'customers', query: '', filters: { company: companyId } },
          ],
        ];
        console.log(`\n${size} customers; ${machineLine()}`);
        for (const [label, search] of searches) {
          let selected = 0;
          const bare =
            search.query === ''
              ? async () =>
                  (await db.execute(sql`select id from customers where company_id = ${companyId}`))
                    .rows.length
              : () => bareReadAll(db);
          const measured = await measure(
            async (run) => {
              const timed = async (work: () => Promise<unknown>) => {
                const started = performance.now();
                await work();
                return performance.now() - started;
              };
              const bareFirst = run % 2 === 1;
              const bareBefore = bareFirst ? await timed(bare) : 0;
              const selection = await timed(async () => {
                selected = (await selectExactMatches(db, search, { phoneRegion: 'GB' })).length;
              });
              const bareAfter = bareFirst ? 0 : await timed(bare);
              return { selection, bare: bareBefore + bareAfter };
            },
            { warmup: 1, runs: 3, maxRounds: 4, check: ['selection'] },
          );
          printMeasured(`${label}: ${selected} selected`, measured, {
            labels: {
              selection: 'selectExactMatches',
              bare:
                search.query === '' ? 'bare SQL: the company’s IDs' : 'bare SQL: read every row',
            },
            baseline: 'bare',
          });
        }
      }
    },
    { worker: false },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
