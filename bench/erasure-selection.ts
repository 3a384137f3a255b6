/**
 * Exact selection benchmark: how long a saved search takes to select its
 * exact matches from Postgres (operations/erasure-selection.ts) among N
 * customers (2 emails, a phone and an external ID each, a company for every
 * tenth), for a query that matches all of them, one that matches 1 in 100,
 * and one that matches one customer.
 * Run: `node --import tsx bench/erasure-selection.ts` (SELECTION_CUSTOMERS=20000,100000 by default).
 */
import { sql } from 'drizzle-orm';
import { withThrowawayApp } from './harness';
import { selectExactMatches, type SelectionSearch } from '../operations/erasure-selection';

const SIZES = (process.env.SELECTION_CUSTOMERS ?? '20000,100000').split(',').map(Number);

async function main() {
  await withThrowawayApp(
    'bench-selection',
    async ({ db }) => {
      const company = await db.execute<{ id: string }>(
        sql`insert into companies (name) values ('Selection bench') returning id`,
      );
      let loaded = 0;
      for (const size of SIZES) {
        await db.execute(sql`
          insert into customers (name, company_id, emails, phones, external_id)
          select 'Bench Customer ' || n || case when n % 100 = 0 then ' Hundredth' else '' end,
            case when n % 10 = 0 then ${company.rows[0]!.id}::uuid end,
            jsonb_build_array(
              jsonb_build_object('address', 'bench' || n || '@one.example', 'preferred', true),
              jsonb_build_object('address', 'bench' || n || '@two.example', 'preferred', false)),
            jsonb_build_array(jsonb_build_object('number', '+44 20 ' || (10000000 + n), 'preferred', true)),
            'crm-' || n
          from generate_series(${loaded + 1}::int, ${size}::int) n`);
        loaded = size;
        await db.execute(sql`analyze customers`);
        const searches: [string, SelectionSearch][] = [
          ['every customer ("bench")', { index: 'customers', query: 'bench', filters: {} }],
          ['1 in 100 ("hundredth")', { index: 'customers', query: 'hundredth', filters: {} }],
          ['one external ID ("crm-4242")', { index: 'customers', query: 'crm-4242', filters: {} }],
          [
            'a company filter, no query (1 in 10)',
            { index: 'customers', query: '', filters: { company: company.rows[0]!.id } },
          ],
        ];
        console.log(`\n${size} customers`);
        for (const [label, search] of searches) {
          const started = performance.now();
          const ids = await selectExactMatches(db, search, { phoneRegion: 'GB' });
          const ms = performance.now() - started;
          console.log(
            `  ${label.padEnd(40)} ${String(ids.length).padStart(7)} selected in ${(ms / 1000).toFixed(2)} s`,
          );
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
