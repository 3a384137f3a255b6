/**
 * Column statistics after an erasure. ANALYZE samples each column's values
 * into `pg_stats` (most common values, histogram bounds): `customers.name`,
 * `emails`, a message's body are quoted there, and an erased person's values
 * stay quoted until the table is analysed again. Analysing after the
 * erasure's commit replaces them with a sample of the rows left: a deleted
 * row is dead, and ANALYZE samples live rows only.
 */
import { sql } from 'drizzle-orm';
import type { Queryable } from '../client';

/** Where each count an erasure reports (operations/delete.ts) was erased from. */
const tableOfCount = {
  customers: 'customers',
  conversations: 'conversations',
  messages: 'messages',
  kobjects: 'kobjects',
  events: 'engagement_events',
  jobRecords: 'jobs',
  notifications: 'notifications',
  savedSearches: 'saved_searches',
  gdprNotes: 'gdpr_requests',
  mergeJournals: 'merge_journals',
} as const;

export type ErasedTable = (typeof tableOfCount)[keyof typeof tableOfCount];

/** The tables an erasure with these counts removed rows or values from. */
export function tablesErasedFrom(counts: Record<string, unknown>): ErasedTable[] {
  const tables = Object.entries(tableOfCount).flatMap(([count, table]) =>
    typeof counts[count] === 'number' && counts[count] > 0 ? [table] : [],
  );
  return [...new Set(tables)];
}

/**
 * Analyses the tables an erasure touched, once it has committed (`counts` is
 * what it reported). With `unlessAnalysedWithinMs`, a table analysed (by this
 * or by autovacuum) that recently is left for the next call: a bulk erasure
 * analyses at most that often while it runs, and always after its last batch.
 * With `committedAt`, a table analysed since that moment is skipped, and
 * erasures analysing one table at once take turns (an advisory lock per
 * table): a burst of deletions costs one ANALYZE per table, not one each.
 * Returns the tables analysed.
 */
export async function analyzeAfterErasure(
  db: Queryable,
  counts: Record<string, unknown>,
  {
    unlessAnalysedWithinMs = 0,
    committedAt,
  }: { unlessAnalysedWithinMs?: number; committedAt?: Date } = {},
): Promise<ErasedTable[]> {
  let tables = tablesErasedFrom(counts);
  if (tables.length > 0 && unlessAnalysedWithinMs > 0) {
    const recent = await db.execute<{ table: ErasedTable }>(sql`
      select relname as table from pg_stat_user_tables
      where schemaname = current_schema() and relname = any(${`{${tables.join(',')}}`}::text[])
        and greatest(last_analyze, last_autoanalyze)
          > now() - make_interval(secs => ${unlessAnalysedWithinMs / 1000})`);
    const skip = new Set(recent.rows.map((row) => row.table));
    tables = tables.filter((table) => !skip.has(table));
  }
  const analysed: ErasedTable[] = [];
  // One transaction per table: each takes its own lock, and a slow one does not hold the others'.
  for (const table of tables) {
    if (!committedAt) {
      await db.execute(sql`analyze ${sql.identifier(table)}`);
      analysed.push(table);
      continue;
    }
    const ran = await db.transaction(async (tx) => {
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtext(${`custodian.analyze.${table}`}))`,
      );
      const since = await tx.execute<{ fresh: boolean }>(sql`
        select coalesce(greatest(last_analyze, last_autoanalyze) >= ${committedAt.toISOString()}::timestamptz, false) as fresh
        from pg_stat_user_tables where schemaname = current_schema() and relname = ${table}`);
      if (since.rows[0]?.fresh) return false;
      await tx.execute(sql`analyze ${sql.identifier(table)}`);
      return true;
    });
    if (ran) analysed.push(table);
  }
  return analysed;
}

/**
 * After a batch of a bulk erasure: analyses what the job has erased so far,
 * at most every `everyMs` while it runs, and always when it has `finished`
 * (its last batch, or a cancel that ends it).
 */
export async function analyzeAfterBulkErasure(
  db: Queryable,
  jobId: string,
  { finished, everyMs = 60_000 }: { finished: boolean; everyMs?: number },
): Promise<ErasedTable[]> {
  const result = await db.execute<{ counts: Record<string, unknown> | null }>(
    sql`select result->'counts' as counts from jobs where id = ${jobId}`,
  );
  return analyzeAfterErasure(db, result.rows[0]?.counts ?? {}, {
    unlessAnalysedWithinMs: finished ? 0 : everyMs,
  });
}
