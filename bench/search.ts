/**
 * Search benchmark: seeds a throw-away Postgres with 200 companies, 20,000
 * customers, 100,000 conversations and 60,000 KObjects, measures how fast
 * `rebuildSearchIndexes` projects them into Meilisearch at two batch sizes,
 * then times a mix of searches through `runSearch` (one at a time, as a user
 * would send them) and checks that each answer is the one a user expects.
 * Both in rounds of `bench/measure.ts` (warm-up, then rounds until two agree
 * within 15 %), each beside a same-run baseline: the rebuild at batch size
 * 10,000 against the same rebuild at 1,000 (the alternative configuration,
 * the two alternating in each run); each search against the same Meilisearch
 * call made directly (the filter, sort and query `runSearch` would send,
 * built beforehand), the two alternating query by query.
 * BENCH_SEARCH_SCALE (default 1) scales the seeded rows, for a quicker run.
 *
 * Run it with `npm run bench:search` (`node --import tsx bench/search.ts`).
 * It starts its own services on free ports with data in a temporary folder,
 * never the ones your environment points at, and removes both when it ends,
 * fails, is interrupted or overruns its deadline.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Meilisearch } from 'meilisearch';

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, type Database, type DatabaseHandle } from '../db/client';
import { runMigrations } from '../db/migrate';
import {
  conversationChannels,
  conversationStatuses,
  type EmailAddress,
  type PhoneNumber,
} from '../db/schema';
import { createSearchClient } from '../search/client';
import { indexUid, searchIndexNames, type SearchIndexName } from '../search/indexes';
import {
  filterExpressions,
  phoneQueryDigits,
  runSearch,
  sortExpressions,
  type SearchHit,
  type SearchRequest,
} from '../search/query';
import { rebuildSearchIndexes } from '../search/rebuild';
import { startStack, throwawayStackOptions, type Stack } from '../stack';
import { machineLine, measure, printMeasured } from './measure';

const SCALE = Number(process.env.BENCH_SEARCH_SCALE ?? 1);
const COMPANIES = Math.max(40, Math.round(200 * SCALE));
const CUSTOMERS = Math.max(160, Math.round(20_000 * SCALE));
const CONVERSATIONS = Math.round(100_000 * SCALE);
const KOBJECTS = Math.round(60_000 * SCALE);
const BATCH_SIZES = [1_000, 10_000];
const QUERIES_PER_KIND = 40;
/** Runs a round: each run sends a fifth of the mix, so a round sends all of it. */
const SEARCH_RUNS = 5;
const PAGE = 20;
/** The seeded numbers are London ones; national spellings in queries would be read as such. */
const PHONE_REGION = 'GB';
/** Far beyond what a slow 2-core machine needs: past it something is stuck, not slow. */
const DEADLINE_MS = 30 * 60_000;

// Five letters or more: Meilisearch forgives no typo in shorter words, and the
// typo queries below must stay within what it forgives.
// prettier-ignore
const FIRST_NAMES = [
  'Olivia', 'Amelia', 'Isabella', 'Sophia', 'Charlotte', 'Harriet', 'Eleanor', 'Matilda',
  'Florence', 'Imogen', 'Oliver', 'George', 'Thomas', 'Arthur', 'Freddie', 'Henry', 'Jacob',
  'Lucas', 'Oscar', 'Samuel', 'Joseph', 'Daniel', 'Edward', 'Rupert',
];
// prettier-ignore
const LAST_NAMES = [
  'Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Robinson',
  'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hughes', 'Jackson',
  'Clarke', 'Turner', 'Harris', 'Morgan', 'Cooper', 'Parker', 'Bennett',
];
// Company words share nothing with person names, so a name query cannot match a company.
const BRANDS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay', 'Wonka', 'Tyrell'];
const SECTORS = ['Labs', 'Logistics', 'Foods', 'Energy', 'Media'];
const OPENERS = ['Question about', 'Problem with', 'Update on', 'Refund for', 'Follow-up on'];
// prettier-ignore
const TOPICS = [
  'invoice', 'delivery', 'password', 'subscription', 'warranty', 'login', 'payment', 'shipment',
  'account', 'upgrade', 'cancellation',
];
const THINGS = ['order', 'plan', 'device', 'card', 'address', 'renewal', 'booking'];
const KLASSES = [
  { name: 'order', title: 'Order' },
  { name: 'ticket', title: 'Ticket' },
  { name: 'subscription', title: 'Subscription' },
  { name: 'device', title: 'Device' },
  { name: 'contract', title: 'Contract' },
];
const ADJECTIVES = ['Blue', 'Silver', 'Compact', 'Premium', 'Annual', 'Express', 'Standard'];
const ITEMS = ['widget', 'router', 'licence', 'bundle', 'sensor', 'gadget', 'charger', 'adapter'];

const started = performance.now();
const seconds = (from: number) => (performance.now() - from) / 1000;
const say = (line: string) => console.log(`[${seconds(started).toFixed(1).padStart(6)} s] ${line}`);
const count = (n: number) => n.toLocaleString('en-US');

// --- seeding ----------------------------------------------------------------

interface SeedStep {
  table: string;
  rows: number;
  seconds: number;
}

/**
 * Every row derives from its position `g` in a series, so a run seeds the same
 * data each time. Multipliers coprime to the moduli scatter rows over
 * customers and over the past year instead of lining them up by position.
 */
async function seed(db: Database): Promise<SeedStep[]> {
  const steps: SeedStep[] = [];
  const step = async (table: string, statement: SQL) => {
    const from = performance.now();
    const result = await db.execute(statement);
    steps.push({ table, rows: result.rowCount ?? 0, seconds: seconds(from) });
    say(`seeded ${count(result.rowCount ?? 0)} ${table} in ${seconds(from).toFixed(2)} s`);
  };
  const words = (list: string[]) => sql`${sql.param(list)}::text[]`;
  const minutesInYear = 525_600;

  await step(
    'companies',
    sql`
      insert into companies (name)
      select w.brand[g % cardinality(w.brand) + 1] || ' ' ||
             w.sector[(g / cardinality(w.brand)) % cardinality(w.sector) + 1] || ' ' || (g + 1)
      from generate_series(0, ${COMPANIES - 1}::int) g,
           (select ${words(BRANDS)} as brand, ${words(SECTORS)} as sector) w`,
  );

  // One customer in seven has no company; 7 is coprime to 200, so every company still gets people.
  await step(
    'customers',
    sql`
      with co as (select id, row_number() over (order by name) - 1 as n from companies),
      person as (
        select g,
               w.first[g % cardinality(w.first) + 1] as first,
               w.last[(g / cardinality(w.first)) % cardinality(w.last) + 1] as last,
               (g::bigint * 104729) % ${minutesInYear}::int as idle_minutes
        from generate_series(0, ${CUSTOMERS - 1}::int) g,
             (select ${words(FIRST_NAMES)} as first, ${words(LAST_NAMES)} as last) w
      )
      insert into customers (name, company_id, emails, phones, created_at, updated_at, last_activity_at)
      select p.first || ' ' || p.last,
             co.id,
             jsonb_build_array(jsonb_build_object(
               'address', lower(p.first || '.' || p.last) || p.g || '@example.com',
               'preferred', true))
             || case when p.g % 4 = 0
                  then jsonb_build_array(jsonb_build_object(
                    'address', lower(p.first) || p.g || '@mail.example.org', 'preferred', false))
                  else '[]'::jsonb end,
             jsonb_build_array(jsonb_build_object(
               'number', format('+44 20 %s %s', 7000 + p.g / 10000, lpad((p.g % 10000)::text, 4, '0')),
               'e164', format('+4420%s%s', 7000 + p.g / 10000, lpad((p.g % 10000)::text, 4, '0')),
               'preferred', true)),
             now() - interval '1 year' - ((p.g::bigint * 7919) % ${minutesInYear}::int) * interval '1 minute',
             now() - p.idle_minutes * interval '1 minute',
             now() - p.idle_minutes * interval '1 minute'
      from person p
      left join co on p.g % 7 <> 0 and co.n = p.g % ${COMPANIES}::int`,
  );

  // Channel and status come from the database's own enums, so they cannot drift from the schema.
  await step(
    'conversations',
    sql`
      with cu as (select id, row_number() over (order by id) - 1 as n from customers),
      w as (
        select ${words(OPENERS)} as opener, ${words(TOPICS)} as topic, ${words(THINGS)} as thing,
               enum_range(null::conversation_channel) as channel,
               enum_range(null::conversation_status) as status
      ),
      s as (
        select g, (g::bigint * 104729) % ${minutesInYear}::int as idle_minutes
        from generate_series(0, ${CONVERSATIONS - 1}::int) g
      )
      insert into conversations (customer_id, channel, status, subject, created_at, last_activity_at)
      select cu.id,
             w.channel[s.g % cardinality(w.channel) + 1],
             w.status[(s.g / cardinality(w.channel)) % cardinality(w.status) + 1],
             concat_ws(' ',
               w.opener[s.g % cardinality(w.opener) + 1],
               w.topic[(s.g / cardinality(w.opener)) % cardinality(w.topic) + 1],
               w.thing[(s.g / (cardinality(w.opener) * cardinality(w.topic))) % cardinality(w.thing) + 1]),
             now() - (s.idle_minutes + (s.g % 30) * 1440) * interval '1 minute',
             now() - s.idle_minutes * interval '1 minute'
      from s cross join w
      join cu on cu.n = (s.g::bigint * 7919) % ${CUSTOMERS}::int`,
  );

  await step(
    'klasses',
    sql`
      insert into klasses (name, title)
      select * from unnest(${words(KLASSES.map((k) => k.name))}, ${words(KLASSES.map((k) => k.title))})`,
  );

  await step(
    'kobjects',
    sql`
      with cu as (select id, row_number() over (order by id) - 1 as n from customers),
      kl as (select id, title, row_number() over (order by name) - 1 as n from klasses),
      w as (select ${words(ADJECTIVES)} as adjective, ${words(ITEMS)} as item),
      s as (
        select g, (g::bigint * 7919) % ${minutesInYear}::int as idle_minutes
        from generate_series(0, ${KOBJECTS - 1}::int) g
      )
      insert into kobjects (customer_id, klass_id, title, data, created_at, last_activity_at)
      select cu.id, kl.id,
             concat_ws(' ', kl.title, 100000 + s.g,
               w.adjective[(s.g / ${KLASSES.length}::int) % cardinality(w.adjective) + 1],
               w.item[(s.g / (${KLASSES.length}::int * cardinality(w.adjective))) % cardinality(w.item) + 1]),
             jsonb_build_object('reference', 100000 + s.g),
             now() - (s.idle_minutes + (s.g % 60) * 1440) * interval '1 minute',
             now() - s.idle_minutes * interval '1 minute'
      from s cross join w
      join kl on kl.n = s.g % ${KLASSES.length}::int
      join cu on cu.n = (s.g::bigint * 104729) % ${CUSTOMERS}::int`,
  );

  // Autovacuum would get there eventually; the rebuild's keyset scans should not race it for plans.
  const from = performance.now();
  await db.execute(sql`analyze`);
  steps.push({ table: '(analyze)', rows: 0, seconds: seconds(from) });
  say(`analyzed in ${seconds(from).toFixed(2)} s`);
  return steps;
}

// --- rebuild ----------------------------------------------------------------

interface RebuildRun {
  batchSize: number;
  prefix: string;
  documents: number;
  seconds: number;
  replayed: number;
  /** Seconds per index, from the rebuild's own progress lines; absent if their format changes. */
  perIndex: Partial<Record<SearchIndexName, { documents: number; seconds: number }>>;
}

async function measureRebuild(
  db: Database,
  meili: Meilisearch,
  batchSize: number,
): Promise<RebuildRun> {
  const prefix = `b${batchSize}_`;
  const perIndex: RebuildRun['perIndex'] = {};
  const from = performance.now();
  let previous = from;
  const report = await rebuildSearchIndexes(db, meili, prefix, {
    batchSize,
    // The rebuild says when each index is done; the gaps between those lines time each index.
    log: (line) => {
      const now = performance.now();
      const match = /^(\w+): (\d+) documents$/.exec(line);
      const name = searchIndexNames.find((n) => n === match?.[1]);
      if (name) {
        perIndex[name] = { documents: Number(match?.[2]), seconds: (now - previous) / 1000 };
      }
      previous = now;
      say(`  ${prefix}${line} (${((now - from) / 1000).toFixed(1)} s so far)`);
    },
  });
  const elapsed = seconds(from);
  const documents = Object.values(report.documents).reduce((a, b) => a + b, 0);
  say(
    `rebuilt ${count(documents)} documents with batch size ${count(batchSize)} in ${elapsed.toFixed(1)} s`,
  );
  return { batchSize, prefix, documents, seconds: elapsed, replayed: report.replayed, perIndex };
}

// --- searches ---------------------------------------------------------------

interface Probe {
  kind: string;
  index: SearchIndexName;
  /** One search; `ok` says whether the answer is what a user would expect, since a fast wrong answer proves nothing. */
  run(): Promise<{ ms: number; ok: boolean }>;
  /** The baseline: the same Meilisearch call, made directly; its ms. */
  raw(): Promise<number>;
}

type SampleCustomer = {
  id: string;
  name: string;
  emails: EmailAddress[];
  phones: PhoneNumber[];
};

const ascending = (values: string[]) => values.every((v, i) => i === 0 || values[i - 1]! <= v);
const descending = (values: string[]) => values.every((v, i) => i === 0 || values[i - 1]! >= v);

/** Swaps one letter in the middle of the first name: one typo, which Meilisearch should forgive. */
function withTypo(name: string): string {
  const at = Math.floor(name.indexOf(' ') / 2);
  const replacement = name[at] === 'x' ? 'z' : 'x';
  return name.slice(0, at) + replacement + name.slice(at + 1);
}

async function buildProbes(db: Database, meili: Meilisearch, prefix: string): Promise<Probe[]> {
  // created_at is a scrambled function of the seed position, so ordering by it
  // picks customers spread over every name and company, and the same ones each run.
  const customers = (
    await db.execute<SampleCustomer>(
      sql`select id, name, emails, phones from customers order by created_at limit ${4 * QUERIES_PER_KIND}`,
    )
  ).rows;
  const companies = (
    await db.execute<{ id: string }>(
      sql`select id from companies order by name limit ${QUERIES_PER_KIND}`,
    )
  ).rows;
  if (customers.length < 4 * QUERIES_PER_KIND || companies.length < QUERIES_PER_KIND) {
    throw new Error('the seeded data is too small to sample the search mix from');
  }

  const probe = <I extends SearchIndexName>(
    kind: string,
    index: I,
    request: Partial<SearchRequest>,
    check: (hits: SearchHit<I>[]) => boolean,
  ): Probe => {
    // What runSearch sends, built once, untimed: the baseline makes only the call.
    const full = { q: '', filters: {}, limit: PAGE, offset: 0, ...request };
    const digits = phoneQueryDigits(full.q, PHONE_REGION);
    const q = digits ?? full.q.trim();
    const sort = sortExpressions(index, full.sort);
    const params = {
      filter: filterExpressions(index, full.filters),
      ...(sort ? { sort } : {}),
      limit: full.limit,
      offset: full.offset,
      ...(digits !== undefined || q.includes('@') ? { matchingStrategy: 'all' as const } : {}),
    };
    return {
      kind,
      index,
      async raw() {
        const from = performance.now();
        await meili.index(indexUid(prefix, index)).search(q, params);
        return performance.now() - from;
      },
      async run() {
        const from = performance.now();
        const { hits } = await runSearch(
          meili,
          prefix,
          index,
          { q: '', filters: {}, limit: PAGE, offset: 0, ...request },
          PHONE_REGION,
        );
        const ms = performance.now() - from;
        return { ms, ok: check(hits) };
      },
    };
  };

  // Interleaved round by round, so no kind gets the machine to itself.
  const probes: Probe[] = [];
  for (let i = 0; i < QUERIES_PER_KIND; i++) {
    const [byName, byTypo, byEmail, byPhone] = [0, 1, 2, 3].map((k) => customers[4 * i + k]!);
    const status = conversationStatuses[i % conversationStatuses.length]!;
    const channel = conversationChannels[i % conversationChannels.length]!;
    // Its own status cycle, so that over 18 rounds every status meets every channel.
    const filterStatus = conversationStatuses[Math.floor(i / 6) % conversationStatuses.length]!;
    const topic = TOPICS[i % TOPICS.length]!;
    const thing = THINGS[(3 * i) % THINGS.length]!;
    const klass = KLASSES[Math.floor(i / ITEMS.length) % KLASSES.length]!.name;
    const item = ITEMS[i % ITEMS.length]!;
    const company = companies[i]!.id;
    // The last address is the secondary one when there are two: those must be found too.
    const email = byEmail!.emails.at(-1)!.address;
    const phone = byPhone!.phones[0]!.number;
    const phoneQuery = i % 2 === 0 ? phone : `00${phone.slice(1).replaceAll(' ', '-')}`;

    probes.push(
      probe('customer name', 'customers', { q: byName!.name }, (h) => h[0]?.name === byName!.name),
      probe(
        'customer name, one typo',
        'customers',
        { q: withTypo(byTypo!.name) },
        (h) => h[0]?.name === byTypo!.name,
      ),
      probe('customer email (exact)', 'customers', { q: email }, (h) => h[0]?.id === byEmail!.id),
      probe('customer phone', 'customers', { q: phoneQuery }, (h) => h[0]?.id === byPhone!.id),
      probe(
        'conversation subject + status + channel',
        'conversations',
        { q: `${topic} ${thing}`, filters: { status: filterStatus, channel } },
        (h) =>
          h.length > 0 &&
          h.every((hit) => hit.status === filterStatus && hit.channel === channel) &&
          h[0]!.subject.includes(`${topic} ${thing}`),
      ),
      probe(
        'kobject title + klass',
        'kobjects',
        { q: item, filters: { klass } },
        (h) => h.length > 0 && h.every((hit) => hit.klass === klass) && h[0]!.title.includes(item),
      ),
      probe(
        'company customers, sorted by name',
        'customers',
        { filters: { company }, sort: 'name:asc' },
        (h) =>
          h.length > 0 &&
          h.every((hit) => hit.companyId === company) &&
          ascending(h.map((hit) => hit.name)),
      ),
      probe(
        'conversations by topic + status, newest first',
        'conversations',
        {
          q: topic,
          filters: { status },
          sort: 'lastActivityAt:desc',
          offset: (Math.floor(i / 3) % 3) * PAGE,
        },
        (h) =>
          h.length > 0 &&
          h.every((hit) => hit.status === status && hit.subject.includes(topic)) &&
          descending(h.map((hit) => hit.lastActivityAt)),
      ),
    );
  }
  return probes;
}

interface LatencyRow {
  kind: string;
  index: string;
  count: number;
  ok: number;
  median: number;
  p99: number;
  max: number;
}

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile: with 40 samples, p99 is the slowest one. */
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length, Math.ceil(p * sorted.length)) - 1]!;

function summarize(kind: string, index: string, samples: { ms: number; ok: boolean }[]) {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    kind,
    index,
    count: samples.length,
    ok: samples.filter((s) => s.ok).length,
    median: median(sorted),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1)!,
  } satisfies LatencyRow;
}

async function measureSearches(db: Database, meili: Meilisearch, prefix: string) {
  const probes = await buildProbes(db, meili, prefix);
  const kinds = [...new Set(probes.map((p) => p.kind))];
  const chunk = Math.ceil(probes.length / SEARCH_RUNS);
  // Each probe's latest answer: a round covers the whole mix once.
  const latest: { ms: number; ok: boolean }[] = [];
  const from = performance.now();
  const measured = await measure(
    async (run) => {
      const start = (run % SEARCH_RUNS) * chunk;
      const api: number[] = [];
      const raw: number[] = [];
      for (let i = start; i < Math.min(probes.length, start + chunk); i++) {
        const probe = probes[i]!;
        if (i % 2) raw.push(await probe.raw());
        const answer = await probe.run();
        latest[i] = answer;
        api.push(answer.ms);
        if (i % 2 === 0) raw.push(await probe.raw());
      }
      return {
        median: median([...api].sort((x, y) => x - y)),
        rawMedian: median([...raw].sort((x, y) => x - y)),
        p99: percentile(
          [...api].sort((x, y) => x - y),
          0.99,
        ),
        rawP99: percentile(
          [...raw].sort((x, y) => x - y),
          0.99,
        ),
      };
    },
    { warmup: 1, runs: SEARCH_RUNS, maxRounds: 4, check: ['median', 'p99'] },
  );
  const elapsed = seconds(from);
  say(`ran ${measured.rounds} round(s) of ${probes.length} searches in ${elapsed.toFixed(1)} s`);

  const rows = kinds.map((kind) => {
    const mine = probes.flatMap((p, i) => (p.kind === kind ? [latest[i]!] : []));
    return summarize(kind, probes.find((p) => p.kind === kind)!.index, mine);
  });
  rows.push(summarize('all', '', latest));
  return { rows, seconds: elapsed, measured };
}

// --- report -----------------------------------------------------------------

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const rate = (documents: number, secs: number) => count(Math.round(documents / secs));

async function machineFacts(db: Database, meili: Meilisearch): Promise<string> {
  const cpus = os.cpus();
  const [pg] = (
    await db.execute<{ version: string }>(sql`select current_setting('server_version') as version`)
  ).rows;
  const { pkgVersion } = await meili.getVersion();
  return [
    `CPUs: ${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown'}`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(os.freemem() / 2 ** 30).toFixed(1)} GiB free now`,
    `OS: ${os.type()} ${os.release()} ${os.arch()}; Node.js ${process.version}`,
    `PostgreSQL ${pg?.version ?? '?'}; Meilisearch ${pkgVersion}; ` +
      `MEILI_MAX_INDEXING_MEMORY=${process.env.MEILI_MAX_INDEXING_MEMORY ?? '(unset: launcher default)'}`,
  ].join('\n');
}

function report(
  facts: string,
  seeding: SeedStep[],
  rebuilds: RebuildRun[],
  searches: { rows: LatencyRow[]; seconds: number; prefix: string },
): string {
  const seedTotal = seeding.reduce((a, s) => a + s.seconds, 0);
  const seedRows = seeding.reduce((a, s) => a + s.rows, 0);
  const ms = (n: number) => n.toFixed(1);
  return [
    '== Machine ==',
    facts,
    '',
    '== Seeding (set-based SQL) ==',
    table(
      ['table', 'rows', 'seconds'],
      [
        ...seeding.map((s) => [s.table, s.rows ? count(s.rows) : '', s.seconds.toFixed(2)]),
        ['total', count(seedRows), seedTotal.toFixed(2)],
      ],
    ),
    '',
    '== Rebuild (rebuildSearchIndexes, documents per second) ==',
    table(
      ['batch size', 'documents', 'seconds', 'docs/s', ...searchIndexNames.map((n) => `${n}/s`)],
      rebuilds.map((r) => [
        count(r.batchSize),
        count(r.documents),
        r.seconds.toFixed(1),
        rate(r.documents, r.seconds),
        ...searchIndexNames.map((n) => {
          const part = r.perIndex[n];
          return part ? rate(part.documents, part.seconds) : '-';
        }),
      ]),
    ),
    ...rebuilds
      .filter((r) => r.replayed > 0)
      .map((r) => `note: ${r.prefix} replayed ${r.replayed} changes; nothing should write here`),
    '',
    `== Search (runSearch on ${searches.prefix}*, sequential, ${PAGE} hits a page, ` +
      `each query's time in the last round) ==`,
    table(
      ['kind', 'index', 'count', 'answer ok', 'median ms', 'p99 ms', 'max ms'],
      searches.rows.map((r) => [
        r.kind,
        r.index,
        String(r.count),
        `${r.ok}/${r.count}`,
        ms(r.median),
        ms(r.p99),
        ms(r.max),
      ]),
    ),
  ].join('\n');
}

// --- main -------------------------------------------------------------------

/** Set once a signal or the deadline has taken over: it stops everything and exits itself. */
let bailing = false;

async function main(): Promise<void> {
  console.log(`at start: ${machineLine()}`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'custodian-bench-'));
  let starting: Promise<Stack> | undefined;
  let database: DatabaseHandle | undefined;
  let stopping: Promise<void> | undefined;
  // Shared by the normal end, a failure, a signal and the deadline, so it runs once.
  const stopServices = () =>
    (stopping ??= (async () => {
      // A stack that failed to start has already stopped whatever it had started.
      const stack = await starting?.catch(() => undefined);
      const from = performance.now();
      await stack?.stop();
      rmSync(dataDir, { recursive: true, force: true });
      say(`stopped services and removed the data in ${seconds(from).toFixed(1)} s`);
    })());
  const bail = (reason: string, code: number) => {
    if (bailing) return;
    bailing = true;
    console.error(`\n${reason}: stopping services and removing ${dataDir}`);
    void stopServices().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail('interrupted', 130));
  process.once('SIGTERM', () => bail('terminated', 143));
  // A pooled connection that loses Postgres while checked out (as when a signal
  // stops it mid-rebuild) throws outside any promise; dying there would leave
  // the services running and the data behind.
  process.on('uncaughtException', (error) => bail(`unexpected error: ${error.message}`, 1));
  const deadline = setTimeout(
    () => bail(`still running after ${DEADLINE_MS / 60_000} min`, 1),
    DEADLINE_MS,
  );

  try {
    say(`starting services (data in ${dataDir})`);
    starting = startStack(throwawayStackOptions(dataDir, (line) => say(line)));
    const stack = await starting;
    const databaseUrl = stack.env.DATABASE_URL!;
    await runMigrations(databaseUrl);
    say('services ready, migrations applied');

    database = createDatabase(databaseUrl, { max: 2 });
    const { db } = database;
    const meili = createSearchClient({
      url: stack.env.MEILI_URL!,
      apiKey: stack.env.MEILI_MASTER_KEY,
    });
    const facts = await machineFacts(db, meili);
    console.log(facts);

    const seeding = await seed(db);
    let rebuilds: RebuildRun[] = [];
    const rebuild = await measure(
      async (run) => {
        // The two sizes alternate which goes first, so neither always meets a cold cache.
        const sizes = run % 2 ? [...BATCH_SIZES].reverse() : BATCH_SIZES;
        const done: RebuildRun[] = [];
        for (const batchSize of sizes) done.push(await measureRebuild(db, meili, batchSize));
        rebuilds = BATCH_SIZES.map((size) => done.find((r) => r.batchSize === size)!);
        return {
          small: rebuilds[0]!.documents / rebuilds[0]!.seconds,
          large: rebuilds[1]!.documents / rebuilds[1]!.seconds,
        };
      },
      { warmup: 1, runs: 1, maxRounds: 3 },
    );
    const prefix = rebuilds.at(-1)!.prefix;
    const searches = { ...(await measureSearches(db, meili, prefix)), prefix };

    console.log(`\n${report(facts, seeding, rebuilds, searches)}`);
    console.log(machineLine());
    printMeasured(
      `rebuild, documents/s, batch size ${count(BATCH_SIZES[1]!)} against ${count(BATCH_SIZES[0]!)} (the alternative, same run)`,
      rebuild,
      {
        labels: {
          large: `batch size ${count(BATCH_SIZES[1]!)}`,
          small: `baseline: batch size ${count(BATCH_SIZES[0]!)}`,
        },
        baseline: 'small',
        unit: 'docs/s',
      },
    );
    for (const [what, api, raw] of [
      ['median', 'median', 'rawMedian'],
      ['p99', 'p99', 'rawP99'],
    ] as const) {
      printMeasured(
        `searches ${what}, runSearch against the same Meilisearch call made directly, ${Math.ceil(
          (QUERIES_PER_KIND * 8) / SEARCH_RUNS,
        )} of each a run`,
        searches.measured,
        {
          labels: { [api]: `runSearch ${what}`, [raw]: `baseline: direct call ${what}` },
          baseline: raw,
          digits: 1,
          what: 'median of runs',
        },
      );
    }
    console.log('');
    say('done');
  } finally {
    clearTimeout(deadline);
    await database?.close();
    await stopServices();
  }
}

// Exit explicitly: the launcher's stop() leaves a 10 s kill-timeout timer armed
// even after a service has exited, which would otherwise hold the process open.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (bailing) return;
    console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    if (error instanceof AggregateError) {
      for (const e of error.errors) console.error(`  - ${String(e)}`);
    }
    process.exit(1);
  },
);
