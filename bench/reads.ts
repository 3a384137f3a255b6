/**
 * Read benchmark: seeds, with plain SQL, one customer whose timeline holds
 * 100,000 items (50,000 conversations and 50,000 KObjects, 5 of them pinned,
 * plus 100,000 engagement events) and a company with 10,000 customers (one in
 * ten with an open conversation), analyzes, then measures the first page and a
 * deep page — reached by following the API's own cursors — of the timeline and
 * of the company directory through the API (`app.inject`), next to the query
 * function the route calls, run straight on the database in the same run, the
 * two alternating, and the execution and planning time Postgres reports for
 * the page's SQL (explain analyze). Each page: a warm-up, then rounds until two
 * rounds' API p99 agree within 15 % (`bench/measure.ts`). Target: every API
 * p99 ≤ 8 ms. Run: `npm run bench:reads`.
 */
import { randomUUID } from 'node:crypto';
import { sql, type SQLWrapper } from 'drizzle-orm';
import { companyDirectoryQuery, listCompanyDirectory } from '../db/queries/customers';
import { customerTimeline, customerTimelineQuery } from '../db/queries/timeline';
import { withThrowawayApp } from './harness';
import { machineLine, measure, percentile } from './measure';

const ITEMS = 100_000;
const EVENTS = 100_000;
const CUSTOMERS = 10_000;
const TIMELINE_DEPTH = 50_000;
const DIRECTORY_DEPTH = 5_000;
const RUNS = 400;
const WARM_UP = 40;
const PAGE = 25;
const TARGET_MS = 8;

interface Page {
  items: unknown[];
  nextCursor: string | null;
}

const f = (ms: number) => ms.toFixed(2).padStart(7);

async function main() {
  await withThrowawayApp(
    'bench-reads',
    async ({ app, db, headers }) => {
      const get = async (url: string): Promise<Page> => {
        const response = await app.inject({ method: 'GET', url: `/v1${url}`, headers });
        if (response.statusCode !== 200) {
          throw new Error(`GET ${url}: ${response.statusCode} ${response.body}`);
        }
        return response.json<Page>();
      };

      console.log('seeding with plain SQL…');
      const seedStart = performance.now();
      const customer = randomUUID();
      const company = randomUUID();
      await db.execute(sql`insert into customers (id, name) values (${customer}, 'Busy')`);
      const klass = await db.execute<{ id: string }>(
        sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
      );
      // Two items share each minute, so the id tie-break is exercised too.
      await db.execute(sql`
        insert into conversations (customer_id, channel, subject, status, created_at, last_activity_at)
        select ${customer}::uuid, 'email', 'Conversation ' || n, 'done',
               t, t
          from generate_series(1, ${ITEMS / 2}) n,
               lateral (select timestamptz '2020-01-01' + (n / 2) * interval '1 minute' as t) s`);
      await db.execute(sql`
        insert into kobjects (customer_id, klass_id, title, created_at, last_activity_at)
        select ${customer}::uuid, ${klass.rows[0]!.id}::uuid, 'Order ' || n, t, t
          from generate_series(1, ${ITEMS / 2}) n,
               lateral (select timestamptz '2020-01-01' + (n / 2) * interval '1 minute' as t) s`);
      await db.execute(sql`
        update conversations set pinned_at = now() - (random() * interval '1 day')
         where id in (select id from conversations where customer_id = ${customer} limit 3)`);
      await db.execute(sql`
        update kobjects set pinned_at = now() - (random() * interval '1 day')
         where id in (select id from kobjects where customer_id = ${customer} limit 2)`);
      await db.execute(sql`
        insert into engagement_events (customer_id, type, occurred_at)
        select ${customer}::uuid, 'page_view', timestamptz '2020-01-01' + n * interval '30 seconds'
          from generate_series(1, ${EVENTS}) n`);
      await db.execute(sql`insert into companies (id, name) values (${company}, 'Big Company')`);
      // Mixed case, so the directory's lower(name) order differs from the bytes' order.
      await db.execute(sql`
        insert into customers (name, company_id, last_activity_at)
        select case when n % 2 = 0 then upper(left(h, 1)) || substr(h, 2) else h end,
               ${company}::uuid, timestamptz '2020-01-01' + n * interval '1 minute'
          from generate_series(1, ${CUSTOMERS}) n, lateral (select md5(n::text) as h) s`);
      await db.execute(sql`
        insert into conversations (customer_id, channel, status)
        select id, 'chat', case when row_number() over (order by id) % 2 = 0 then 'open' else 'done' end::conversation_status
          from customers where company_id = ${company} and abs(hashtext(id::text)) % 5 = 0`);
      await db.execute(sql`vacuum analyze`);
      console.log(`seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

      /** Follows the API's cursors `depth` items in, 100 a page. */
      const deepCursor = async (url: string, depth: number) => {
        let cursor: string | null = null;
        for (let seen = 0; seen < depth; seen += 100) {
          const page = await get(`${url}?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
          if (!page.nextCursor) throw new Error(`${url} ended before ${depth} items`);
          cursor = page.nextCursor;
        }
        return cursor!;
      };
      const timelineCursor = await deepCursor(`/customers/${customer}/timeline`, TIMELINE_DEPTH);
      const directoryCursor = await deepCursor(`/companies/${company}/customers`, DIRECTORY_DEPTH);

      /**
       * API and query function alternate, so load from elsewhere hits both
       * alike; a warm-up, then rounds of ${RUNS} requests until two rounds'
       * API p99 agree within 15 %.
       */
      const measurePage = (url: string, direct: () => Promise<Page>) =>
        measure(
          async (run) => {
            const times = { api: 0, direct: 0 };
            const sides: [keyof typeof times, () => Promise<Page>][] = [
              ['api', () => get(url)],
              ['direct', direct],
            ];
            for (const [side, call] of run % 2 ? sides : sides.reverse()) {
              const started = performance.now();
              const page = await call();
              times[side] = performance.now() - started;
              if (page.items.length === 0) throw new Error(`${url}: empty page`);
            }
            return times;
          },
          {
            warmup: WARM_UP,
            runs: RUNS,
            maxRounds: 5,
            check: ['api'],
            aggregate: (values) => percentile(values, 0.99),
          },
        );
      interface Case {
        /** The query function the route calls. */
        direct: () => Promise<Page>;
        /** The SQL it sends for the page itself, for Postgres' own execution time. */
        query: SQLWrapper;
      }
      const timeline = (cursor: string | undefined, includeEvents: boolean): Case => {
        const options = { limit: PAGE, cursor, includeEvents };
        return {
          direct: () => customerTimeline(db, customer, options),
          query: customerTimelineQuery(customer, options),
        };
      };
      const directory = (cursor: string | undefined, open: boolean): Case => {
        const options = {
          companyId: company,
          onlyWithOpenConversations: open,
          limit: PAGE,
          cursor,
        };
        return {
          direct: () => listCompanyDirectory(db, options),
          query: companyDirectoryQuery(db, options),
        };
      };
      /** Median execution time Postgres reports for `query` (explain analyze, no client round trip). */
      const executionMs = async (query: SQLWrapper) => {
        const times: number[] = [];
        const planning: number[] = [];
        for (let i = 0; i < 21; i++) {
          const plan = await db.execute<{ 'QUERY PLAN': unknown }>(
            sql`explain (analyze, format json) ${query}`,
          );
          const raw = plan.rows[0]!['QUERY PLAN'];
          const [first] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [
            { 'Execution Time': number; 'Planning Time': number },
          ];
          times.push(first['Execution Time']);
          planning.push(first['Planning Time']);
        }
        return `${f(percentile(times, 0.5))}  ${f(percentile(planning, 0.5))}`;
      };
      const t = `/customers/${customer}/timeline`;
      const d = `/companies/${company}/customers`;
      const deep = (c: string) => `cursor=${c}`;
      const cases: [string, string, Case][] = [
        ['timeline, first page', t, timeline(undefined, false)],
        [
          `timeline, ${TIMELINE_DEPTH.toLocaleString('en')} in`,
          `${t}?${deep(timelineCursor)}`,
          timeline(timelineCursor, false),
        ],
        ['timeline?include=events, first', `${t}?include=events`, timeline(undefined, true)],
        [
          'timeline?include=events, deep',
          `${t}?include=events&${deep(timelineCursor)}`,
          timeline(timelineCursor, true),
        ],
        ['directory, first page', d, directory(undefined, false)],
        [
          `directory, ${DIRECTORY_DEPTH.toLocaleString('en')} in`,
          `${d}?${deep(directoryCursor)}`,
          directory(directoryCursor, false),
        ],
        ['directory?filter=open, first', `${d}?filter=open`, directory(undefined, true)],
        [
          'directory?filter=open, deep',
          `${d}?filter=open&${deep(directoryCursor)}`,
          directory(directoryCursor, true),
        ],
      ];

      console.log(
        `\n${ITEMS.toLocaleString('en')} timeline items (+ ${EVENTS.toLocaleString('en')} events) on one customer, ` +
          `${CUSTOMERS.toLocaleString('en')} customers in one company; pages of ${PAGE}; ` +
          `${WARM_UP} warm-up requests, then rounds of ${RUNS} until two rounds' API p99 agree within 15 %`,
      );
      console.log(machineLine());
      console.log(
        '\n                                  API (inject)                  query function alone   in Postgres',
      );
      console.log(
        '                                  p50 ms   p99 ms  prev p99      p50 ms   p99 ms        exec ms  plan ms  rounds',
      );
      let worstApiP99 = 0;
      for (const [label, url, { direct, query }] of cases) {
        const measured = await measurePage(url, direct);
        const { samples, medians } = measured.last;
        worstApiP99 = Math.max(worstApiP99, medians.api);
        console.log(
          `${label.padEnd(32)}  ${f(percentile(samples.api, 0.5))}  ${f(medians.api)}   ${f(measured.previous?.medians.api ?? Number.NaN)}     ` +
            `${f(percentile(samples.direct, 0.5))}  ${f(medians.direct)}        ${await executionMs(query)}  ${String(measured.rounds).padStart(6)}${measured.stable ? '' : ' (not stable)'}`,
        );
      }
      console.log(
        `\ntarget: every API p99 ≤ ${TARGET_MS} ms: ${worstApiP99 <= TARGET_MS ? 'met' : 'NOT met'} ` +
          `(worst ${worstApiP99.toFixed(1)} ms)`,
      );
      console.log(machineLine());
    },
    { worker: false },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
