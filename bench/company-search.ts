/**
 * Company name search, two ways side by side: Postgres pg_trgm (the query
 * `GET /v1/companies?q=` runs, `matchCompanyNames`) and a Meilisearch
 * index of the same companies ({id, name}, default typo tolerance). Seeds
 * 50,000 companies with made-up names, then sends the same queries to both,
 * one at a time, the two alternating query by query so both see the same
 * load: names in another case, names with one typo (substituted, dropped,
 * swapped or added letter), a name with a typo and without its legal form, and
 * the first letters of a name (bench/company-names.ts). Each run of
 * `bench/measure.ts` (warm-up, then rounds until two agree within 15 %) sends
 * a fifth of the query list to both; its p50 and p95 are the run's figures.
 * The baseline is the alternative in the same run: each Postgres figure is
 * printed as a multiple of Meilisearch's. Also prints how often the wanted
 * company came first (top-1) or among the first five (top-5) over every timed
 * query, per kind, and how long a new company takes to become findable in each
 * (Postgres insert + search against a one-document Meilisearch task, also in
 * rounds).
 *
 * Run it with `npm run bench:company-search`. It starts its own PostgreSQL and
 * Meilisearch on free ports (no Temporal, no SMTP) with data in a temporary
 * folder, and removes both when it ends.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Meilisearch } from 'meilisearch';
import { createDatabase, type Database } from '../db/client';
import { runMigrations } from '../db/migrate';
import { matchCompanyNames } from '../db/queries/companies';
import { companyNames, probes, type BenchCompany } from './company-names';
import { createSearchClient, waitForSearchTask } from '../search/client';
import { startMeilisearch } from '../stack/meilisearch';
import { startPostgres } from '../stack/postgres';
import { freePort } from '../stack/process';
import type { StartedService } from '../stack/types';
import { machineLine, measure, median, percentile, printMeasured } from './measure';

const COMPANIES = Number(process.env.BENCH_COMPANIES ?? 50_000);
const QUERIES_PER_KIND = 200;
/** Runs a round: each run sends a fifth of the query list, so a round sends all of it. */
const RUNS = 5;
const TOP = 5;
const FRESHNESS_PER_RUN = 4;
const INDEX = 'bench_companies';

type Engine = (q: string) => Promise<string[]>;
type EngineName = 'pg' | 'meili';

interface Row {
  kind: string;
  n: number;
  top1: number;
  top5: number;
  p50: number;
  p95: number;
}

const timed = async (engine: Engine, q: string) => {
  const from = performance.now();
  const ids = await engine(q);
  return { ms: performance.now() - from, ids };
};

async function seedPostgres(db: Database, companies: BenchCompany[]) {
  for (let i = 0; i < companies.length; i += 5_000) {
    const batch = companies.slice(i, i + 5_000);
    const { rows } = await db.execute<{ id: string; name: string }>(sql`
      insert into companies (name) select unnest(${sql.param(batch.map((c) => c.name))}::text[])
      returning id, name`);
    const ids = new Map(rows.map((r) => [r.name, r.id]));
    for (const company of batch) company.id = ids.get(company.name)!;
  }
  // As autovacuum leaves a table that has settled: statistics, and the GIN index's
  // pending list merged (a plain ANALYZE leaves it, and scanning it is linear).
  await db.execute(sql`vacuum analyze companies`);
}

async function seedMeilisearch(meili: Meilisearch, companies: BenchCompany[]) {
  await waitForSearchTask(meili, meili.createIndex(INDEX, { primaryKey: 'id' }));
  const index = meili.index(INDEX);
  await waitForSearchTask(meili, index.updateSettings({ searchableAttributes: ['name'] }));
  for (let i = 0; i < companies.length; i += 10_000) {
    const batch = companies.slice(i, i + 10_000).map(({ id, name }) => ({ id, name }));
    await waitForSearchTask(meili, index.addDocuments(batch, { primaryKey: 'id' }), 600_000);
  }
}

/** Milliseconds from "company saved" to "a search finds it", for one new company in each. */
async function freshOnce(db: Database, meili: Meilisearch) {
  const name = `Freshly Made ${randomBytes(4).toString('hex')} Works`;
  let from = performance.now();
  const [row] = (
    await db.execute<{ id: string }>(
      sql`insert into companies (name) values (${name}) returning id`,
    )
  ).rows;
  const found = await matchCompanyNames(db, name, { limit: 1 });
  if (found[0]?.id !== row!.id) throw new Error('Postgres did not find a company just saved');
  const pg = performance.now() - from;
  from = performance.now();
  await waitForSearchTask(meili, meili.index(INDEX).addDocuments([{ id: row!.id, name }]));
  return { pg, meili: performance.now() - from };
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main() {
  console.log(`at start: ${machineLine()}`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'custodian-bench-companies-'));
  const services: StartedService[] = [];
  const say = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  try {
    const [postgres, meiliServer] = await Promise.all([
      freePort().then((port) =>
        startPostgres({ dataDir, port, logFile: path.join(dataDir, 'postgres.log') }),
      ),
      freePort().then((port) =>
        startMeilisearch({
          dataDir,
          port,
          masterKey: randomBytes(24).toString('base64url'),
          logFile: path.join(dataDir, 'meilisearch.log'),
        }),
      ),
    ]);
    services.push(postgres, meiliServer);
    await runMigrations(postgres.url);
    const database = createDatabase(postgres.url, { max: 2 });
    const { db } = database;
    const meili = createSearchClient({ url: meiliServer.url, apiKey: meiliServer.masterKey });
    try {
      const companies = companyNames(COMPANIES);
      let from = performance.now();
      await seedPostgres(db, companies);
      say(
        `Postgres: ${companies.length} companies in ${((performance.now() - from) / 1000).toFixed(1)} s`,
      );
      from = performance.now();
      await seedMeilisearch(meili, companies);
      say(`Meilisearch: indexed in ${((performance.now() - from) / 1000).toFixed(1)} s`);

      const engines: Record<EngineName, Engine> = {
        pg: async (q) => (await matchCompanyNames(db, q, { limit: TOP })).map((r) => r.id),
        meili: async (q) =>
          (await meili.index(INDEX).search<{ id: string }>(q, { limit: TOP })).hits.map(
            (h) => h.id,
          ),
      };
      const list = probes(companies, QUERIES_PER_KIND);
      const chunk = Math.ceil(list.length / RUNS);
      // Each query's latest time and rank in each engine: a round covers the whole list once.
      const latest: Record<EngineName, { ms: number; rank: number }[]> = { pg: [], meili: [] };
      const searches = await measure(
        async (run) => {
          const start = (run % RUNS) * chunk;
          const ms: Record<EngineName, number[]> = { pg: [], meili: [] };
          for (let i = start; i < Math.min(list.length, start + chunk); i++) {
            const probe = list[i]!;
            for (const name of i % 2 ? (['pg', 'meili'] as const) : (['meili', 'pg'] as const)) {
              const { ms: took, ids } = await timed(engines[name], probe.q);
              ms[name].push(took);
              latest[name][i] = { ms: took, rank: ids.indexOf(probe.want) };
            }
          }
          return {
            pgP50: percentile(ms.pg, 0.5),
            meiliP50: percentile(ms.meili, 0.5),
            pgP95: percentile(ms.pg, 0.95),
            meiliP95: percentile(ms.meili, 0.95),
          };
        },
        { warmup: 1, runs: RUNS, maxRounds: 4 },
      );
      say('searches measured');
      const fresh = await measure(
        async () => {
          const pg: number[] = [];
          const ms: number[] = [];
          for (let i = 0; i < FRESHNESS_PER_RUN; i++) {
            const one = await freshOnce(db, meili);
            pg.push(one.pg);
            ms.push(one.meili);
          }
          return { pg: median(pg), meili: median(ms) };
        },
        { warmup: 1, runs: 5, maxRounds: 4 },
      );

      const row = (kind: string, name: EngineName): Row => {
        const mine = list.flatMap((p, i) =>
          kind === 'all' || p.kind === kind ? [latest[name][i]!] : [],
        );
        return {
          kind,
          n: mine.length,
          top1: mine.filter((r) => r.rank === 0).length,
          top5: mine.filter((r) => r.rank >= 0 && r.rank < TOP).length,
          p50: percentile(
            mine.map((r) => r.ms),
            0.5,
          ),
          p95: percentile(
            mine.map((r) => r.ms),
            0.95,
          ),
        };
      };
      const kinds = [...new Set(list.map((p) => p.kind)), 'all'];
      const cells = (r: Row) => [
        `${((100 * r.top1) / r.n).toFixed(0)}%`,
        `${((100 * r.top5) / r.n).toFixed(0)}%`,
        r.p50.toFixed(1),
        r.p95.toFixed(1),
      ];
      const [pgVersion] = (
        await db.execute<{ v: string }>(sql`select current_setting('server_version') as v`)
      ).rows;
      console.log(
        `\n${companies.length} companies, ${QUERIES_PER_KIND} queries per kind, sequential, ` +
          `${TOP} hits asked; PostgreSQL ${pgVersion?.v}, ` +
          `Meilisearch ${(await meili.getVersion()).pkgVersion}`,
      );
      console.log(machineLine());
      for (const [what, pg, ms] of [
        ['p50', 'pgP50', 'meiliP50'],
        ['p95', 'pgP95', 'meiliP95'],
      ] as const) {
        printMeasured(
          `query latency ${what}, Postgres pg_trgm (matchCompanyNames) against Meilisearch (the alternative, same queries, alternating), ${chunk} queries a run`,
          searches,
          {
            labels: { [pg]: `Postgres ${what}`, [ms]: `Meilisearch ${what}` },
            baseline: ms,
            digits: 1,
            what: 'median of runs',
          },
        );
      }
      console.log(
        `\nper kind, each query's time in the last round and its rank (deterministic data):\n${table(
          [
            'query',
            'pg top-1',
            'pg top-5',
            'pg p50 ms',
            'pg p95 ms',
            'meili top-1',
            'meili top-5',
            'meili p50 ms',
            'meili p95 ms',
          ],
          kinds.map((k) => [k, ...cells(row(k, 'pg')), ...cells(row(k, 'meili'))]),
        )}`,
      );
      printMeasured(
        `saved → findable, median of ${FRESHNESS_PER_RUN} new companies a run: Postgres insert + search against a one-document Meilisearch task applied`,
        fresh,
        {
          labels: { pg: 'Postgres (insert + search)', meili: 'Meilisearch (task applied)' },
          baseline: 'meili',
          digits: 1,
        },
      );
      console.log(`\nat end: ${machineLine()}`);
    } finally {
      await database.close();
    }
  } finally {
    await Promise.allSettled(services.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
