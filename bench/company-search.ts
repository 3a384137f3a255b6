/**
 * Company name search, two ways side by side: Postgres pg_trgm (the query
 * `GET /v1/companies?q=` runs, `matchCompanyNames`) and a Meilisearch
 * index of the same companies ({id, name}, default typo tolerance). Seeds
 * 50,000 companies with made-up names, then sends the same queries to both,
 * one at a time: names in another case, names with one typo (substituted,
 * dropped, swapped or added letter), a name with a typo and without its legal
 * form, and the first letters of a name (bench/company-names.ts). Prints p50/p95 latency and how often the wanted
 * company came first (top-1) or among the first five (top-5); and how long a
 * new company takes to become findable in each.
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
import { companyNames, probes, type BenchCompany, type Probe } from './company-names';
import { createSearchClient, waitForSearchTask } from '../search/client';
import { startMeilisearch } from '../stack/meilisearch';
import { startPostgres } from '../stack/postgres';
import { freePort } from '../stack/process';
import type { StartedService } from '../stack/types';

const COMPANIES = Number(process.env.BENCH_COMPANIES ?? 50_000);
const QUERIES_PER_KIND = 200;
const TOP = 5;
const WARM_UP = 50;
const FRESHNESS_SAMPLES = 20;
const INDEX = 'bench_companies';

type Engine = (q: string) => Promise<string[]>;

interface Row {
  kind: string;
  n: number;
  top1: number;
  top5: number;
  p50: number;
  p95: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length, Math.ceil(p * sorted.length)) - 1] ?? NaN;

async function measure(engine: Engine, list: Probe[]): Promise<Row[]> {
  for (const probe of list.slice(0, WARM_UP)) await engine(probe.q);
  const results: { kind: string; ms: number; rank: number }[] = [];
  for (const probe of list) {
    const from = performance.now();
    const ids = await engine(probe.q);
    results.push({ kind: probe.kind, ms: performance.now() - from, rank: ids.indexOf(probe.want) });
  }
  const row = (kind: string, mine: typeof results): Row => {
    const sorted = mine.map((r) => r.ms).sort((a, b) => a - b);
    return {
      kind,
      n: mine.length,
      top1: mine.filter((r) => r.rank === 0).length,
      top5: mine.filter((r) => r.rank >= 0 && r.rank < TOP).length,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
    };
  };
  const kinds = [...new Set(list.map((p) => p.kind))];
  return [
    ...kinds.map((k) =>
      row(
        k,
        results.filter((r) => r.kind === k),
      ),
    ),
    row('all', results),
  ];
}

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

/** Milliseconds from "company saved" to "a search finds it", per new company. */
async function freshness(db: Database, meili: Meilisearch) {
  const pg: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < FRESHNESS_SAMPLES; i++) {
    const name = `Freshly Made ${randomBytes(4).toString('hex')} Works`;
    let from = performance.now();
    const [row] = (
      await db.execute<{ id: string }>(
        sql`insert into companies (name) values (${name}) returning id`,
      )
    ).rows;
    const found = await matchCompanyNames(db, name, { limit: 1 });
    if (found[0]?.id !== row!.id) throw new Error('Postgres did not find a company just saved');
    pg.push(performance.now() - from);
    from = performance.now();
    await waitForSearchTask(meili, meili.index(INDEX).addDocuments([{ id: row!.id, name }]));
    ms.push(performance.now() - from);
  }
  const sorted = (v: number[]) => v.sort((a, b) => a - b);
  return { pg: sorted(pg), meili: sorted(ms) };
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

      const list = probes(companies, QUERIES_PER_KIND);
      const pgRows = await measure(
        async (q) => (await matchCompanyNames(db, q, { limit: TOP })).map((r) => r.id),
        list,
      );
      say('Postgres pg_trgm measured');
      const meiliRows = await measure(
        async (q) =>
          (await meili.index(INDEX).search<{ id: string }>(q, { limit: TOP })).hits.map(
            (h) => h.id,
          ),
        list,
      );
      say('Meilisearch measured');
      const fresh = await freshness(db, meili);

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
          `${TOP} hits asked; ${os.cpus().length} CPUs (load average ${os.loadavg()[0]!.toFixed(1)}), ` +
          `PostgreSQL ${pgVersion?.v}, ` +
          `Meilisearch ${(await meili.getVersion()).pkgVersion}\n`,
      );
      console.log(
        table(
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
          pgRows.map((r, i) => [r.kind, ...cells(r), ...cells(meiliRows[i]!)]),
        ),
      );
      const p = (v: number[], q: number) => percentile(v, q).toFixed(1);
      console.log(
        `\nsaved → findable (${FRESHNESS_SAMPLES} new companies): ` +
          `Postgres p50 ${p(fresh.pg, 0.5)} ms p95 ${p(fresh.pg, 0.95)} ms (insert + search); ` +
          `Meilisearch p50 ${p(fresh.meili, 0.5)} ms p95 ${p(fresh.meili, 0.95)} ms (one-document task applied)\n`,
      );
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
