import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { listAuditLog } from '../../db/queries/audit';
import { companyDirectoryQuery, listCompanyDirectory } from '../../db/queries/customers';
import {
  customerTimeline,
  customerTimelineQuery,
  recentItemsQuery,
} from '../../db/queries/timeline';
import { testConfig } from '../helpers';

/** Tables that grow with history: reading one whole is what a page must never do. */
const LARGE = new Set(['customers', 'conversations', 'kobjects', 'engagement_events', 'audit_log']);
const ITEMS = 3_000;
const CUSTOMERS = 3_000;
const PAGE = 25;
/**
 * Rows any one plan node may touch (return or filter away), summed over its
 * loops: ten pages. Scans of small tables (klasses, which other test files
 * also fill) and the hash tables built from them are not counted.
 */
const ROW_BUDGET = 10 * (PAGE + 1);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

function* nodes(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* nodes(child);
}

let database: DatabaseHandle;
const customer = randomUUID();
const company = randomUUID();
const auditAction = `plan_${randomUUID().slice(0, 8)}`;

/**
 * The plan the planner really picks for `query` (after ANALYZE, with these
 * parameter values), run once, and what in it reads more than a page's worth.
 */
async function problemsIn(query: SQL | SQLWrapper): Promise<string[]> {
  const result = await database.db.execute<{ 'QUERY PLAN': unknown }>(
    sql`explain (analyze, timing off, format json) ${query}`,
  );
  const raw = result.rows[0]!['QUERY PLAN'];
  const [{ Plan: plan }] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [
    { Plan: PlanNode },
  ];
  const problems: string[] = [];
  for (const node of nodes(plan)) {
    const where = `${node['Node Type']}${node['Relation Name'] ? ` on ${node['Relation Name']}` : ''}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}`;
    if (node['Node Type'] === 'Seq Scan' && LARGE.has(node['Relation Name'] ?? '')) {
      problems.push(where);
    }
    const touched =
      (node['Actual Rows'] +
        (node['Rows Removed by Filter'] ?? 0) +
        (node['Rows Removed by Index Recheck'] ?? 0)) *
      node['Actual Loops'];
    const small =
      node['Node Type'] === 'Hash' ||
      (node['Relation Name'] !== undefined && !LARGE.has(node['Relation Name']));
    if (!small && touched > ROW_BUDGET) problems.push(`${where} touches ${touched} rows`);
  }
  return problems;
}

/** The cursor `depth` items into a listing, following the code's own cursors. */
async function cursorAt(
  depth: number,
  page: (cursor: string | undefined) => Promise<{ nextCursor: string | null }>,
): Promise<string> {
  let cursor: string | undefined;
  for (let seen = 0; seen < depth; seen += 100) {
    const next = (await page(cursor)).nextCursor;
    expect(next).not.toBeNull();
    cursor = next!;
  }
  return cursor!;
}

beforeAll(async () => {
  database = createDatabase(testConfig().databaseUrl, { max: 2 });
  const db = database.db;
  await db.execute(sql`insert into customers (id, name) values (${customer}, 'Long history')`);
  const klass = await db.execute<{ id: string }>(sql`
    insert into klasses (name, title) values (${`plan_${randomUUID().slice(0, 8)}`}, 'Plan') returning id`);
  await db.execute(sql`
    insert into conversations (customer_id, channel, subject, last_activity_at)
    select ${customer}::uuid, 'email', 'Conversation ' || n, timestamptz '2020-01-01' + (n / 2) * interval '1 minute'
      from generate_series(1, ${ITEMS}) n`);
  await db.execute(sql`
    insert into kobjects (customer_id, klass_id, title, last_activity_at)
    select ${customer}::uuid, ${klass.rows[0]!.id}::uuid, 'Object ' || n,
           timestamptz '2020-01-01' + (n / 2) * interval '1 minute'
      from generate_series(1, ${ITEMS}) n`);
  await db.execute(sql`
    update conversations set pinned_at = now()
     where id in (select id from conversations where customer_id = ${customer} limit 2)`);
  await db.execute(sql`
    insert into engagement_events (customer_id, type, occurred_at)
    select ${customer}::uuid, 'page_view', timestamptz '2020-01-01' + n * interval '30 seconds'
      from generate_series(1, ${ITEMS}) n`);
  await db.execute(
    sql`insert into companies (id, name) values (${company}, ${`Plans ${company}`})`,
  );
  await db.execute(sql`
    insert into customers (name, company_id)
    select 'Plan customer ' || md5(n::text), ${company}::uuid from generate_series(1, ${CUSTOMERS}) n`);
  await db.execute(sql`
    insert into conversations (customer_id, channel, status)
    select id, 'chat', 'open' from customers where company_id = ${company} and id::text < '8'`);
  // A year of one busy action, one entry a few hours apart, and a rare action among them.
  await db.execute(sql`
    insert into audit_log (action, object_type, object_id, created_at)
    select ${`${auditAction}.busy`}, 'plan', gen_random_uuid(), timestamptz '2001-01-01' + n * interval '3 hours'
      from generate_series(1, ${ITEMS}) n`);
  await db.execute(sql`
    insert into audit_log (action, object_type, object_id, created_at)
    select ${`${auditAction}.rare`}, 'plan', gen_random_uuid(), timestamptz '2001-01-01' + n * interval '90 days'
      from generate_series(1, 3) n`);
  await db.execute(
    sql`analyze customers, conversations, kobjects, klasses, engagement_events, audit_log`,
  );
});

afterAll(async () => {
  await database.db.execute(
    sql`delete from customers where id = ${customer} or company_id = ${company}`,
  );
  await database.db.execute(sql`delete from audit_log where action like ${`${auditAction}.%`}`);
  await database.close();
});

describe('the plans of the hot list queries, after ANALYZE on a long history', () => {
  it('reads a page of the timeline from the indexes, first page, among the pins and deep', async () => {
    const timeline = (cursor: string | undefined, includeEvents = false, limit = PAGE) =>
      customerTimelineQuery(customer, { limit, cursor, includeEvents });
    const deep = await cursorAt(2_000, (cursor) =>
      customerTimeline(database.db, customer, { limit: 100, cursor }),
    );
    const amongPins = (await customerTimeline(database.db, customer, { limit: 1 })).nextCursor!;
    for (const [what, query] of [
      ['first page', timeline(undefined)],
      ['among the pins', timeline(amongPins)],
      ['2,000 items in', timeline(deep)],
      ['with events, first page', timeline(undefined, true)],
      ['with events, 2,000 items in', timeline(deep, true)],
    ] as const) {
      expect(await problemsIn(query), what).toEqual([]);
    }
  });

  it("reads a company card's recent items from the indexes, however long the customer's history", async () => {
    const cards = await database.db.execute<{ id: string }>(
      sql`select id from customers where company_id = ${company} limit ${PAGE - 1}`,
    );
    const query = recentItemsQuery([customer, ...cards.rows.map((row) => row.id)], 5);
    expect(await problemsIn(query)).toEqual([]);
    const recent = await database.db.execute<{ customer_id: string }>(query);
    expect(recent.rows.filter((row) => row.customer_id === customer)).toHaveLength(5);
  });

  it('reads the audit log of one action or one time window from its indexes', async () => {
    for (const [what, filter] of [
      ['a rare action', { action: `${auditAction}.rare` }],
      ['a day half a year back', { from: new Date('2001-07-01'), to: new Date('2001-07-02') }],
    ] as const) {
      const query = listAuditLog(database.db, { ...filter, limit: PAGE });
      expect(await problemsIn(query), what).toEqual([]);
      expect((await query).length, what).toBeGreaterThan(0);
    }
  });

  it("reads a page of a company's directory from the index, all or open only, first and deep", async () => {
    const directory = (cursor: string | undefined, open: boolean, limit = PAGE) =>
      companyDirectoryQuery(database.db, {
        companyId: company,
        onlyWithOpenConversations: open,
        limit,
        cursor,
      });
    const deep = await cursorAt(1_000, (cursor) =>
      listCompanyDirectory(database.db, {
        companyId: company,
        onlyWithOpenConversations: false,
        limit: 100,
        cursor,
      }),
    );
    for (const [what, query] of [
      ['first page', directory(undefined, false)],
      ['1,000 customers in', directory(deep, false)],
      ['open only, first page', directory(undefined, true)],
      ['open only, 1,000 customers in', directory(deep, true)],
    ] as const) {
      expect(await problemsIn(query), what).toEqual([]);
    }
  });
});
