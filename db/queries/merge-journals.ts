/**
 * The merge journal's rows (db/schema/merge-journals.ts): written by the
 * merge's transaction, read and removed by its undo, erased with either
 * customer, purged once the undo window has passed.
 */
import { eq, lte, sql } from 'drizzle-orm';
import type { Queryable, Transaction } from '../client';
import { mergeJournalItems, mergeJournals, type MergeJournalItemKind } from '../schema';
import { uuidArray } from '../sql';

export type MergeJournalRow = typeof mergeJournals.$inferSelect;

/**
 * Records, before a merge changes anything, the source's row, the target's
 * row, and everything that will move: the source's conversations, KObjects
 * and events (with their external IDs), and the redirects that lead to it.
 * The caller holds both customers' rows `for update`, so nothing is added to
 * the source in between.
 */
export async function writeMergeJournal(
  tx: Transaction,
  {
    jobId,
    sourceId,
    targetId,
    windowMs,
  }: {
    jobId: string;
    sourceId: string;
    targetId: string;
    windowMs: number;
  },
): Promise<void> {
  await tx.execute(sql`
    insert into merge_journals (job_id, source_customer_id, target_customer_id, source, target_before, expires_at)
    select ${jobId}::uuid, s.id, t.id, to_jsonb(s), to_jsonb(t), now() + make_interval(secs => ${windowMs / 1000})
    from customers s, customers t where s.id = ${sourceId} and t.id = ${targetId}`);
  await tx.execute(sql`
    insert into merge_journal_items (job_id, kind, object_id, external_id)
    select ${jobId}::uuid, 'conversation', id, null from conversations where customer_id = ${sourceId}
    union all
    select ${jobId}::uuid, 'kobject', id, null from kobjects where customer_id = ${sourceId}
    union all
    select ${jobId}::uuid, 'event', id, external_id from engagement_events where customer_id = ${sourceId}
    union all
    select ${jobId}::uuid, 'redirect', source_customer_id, null from merge_redirects
     where target_customer_id = ${sourceId}`);
}

/** Records the target as the merge left it: what an undo compares the target with now. */
export async function finishMergeJournal(
  tx: Transaction,
  jobId: string,
  targetId: string,
): Promise<void> {
  await tx.execute(sql`
    update merge_journals set target_after = (select to_jsonb(c) from customers c where c.id = ${targetId})
    where job_id = ${jobId}`);
}

export async function findMergeJournal(
  db: Queryable,
  jobId: string,
  { lock = false } = {},
): Promise<MergeJournalRow | undefined> {
  const query = db.select().from(mergeJournals).where(eq(mergeJournals.jobId, jobId));
  const [row] = lock ? await query.for('update') : await query;
  return row;
}

export async function mergeJournalItemIds(
  db: Queryable,
  jobId: string,
  kind: MergeJournalItemKind,
): Promise<string[]> {
  const rows = await db
    .select({ id: mergeJournalItems.objectId })
    .from(mergeJournalItems)
    .where(sql`${mergeJournalItems.jobId} = ${jobId} and ${mergeJournalItems.kind} = ${kind}`);
  return rows.map((row) => row.id);
}

export async function deleteMergeJournal(db: Queryable, jobId: string): Promise<void> {
  await db.delete(mergeJournals).where(eq(mergeJournals.jobId, jobId));
}

/**
 * Erasure: the journals of merges that involved these customers, or any
 * customer merged into them since (their redirects lead here). Call before
 * the redirects go. Returns how many journals were deleted.
 */
export async function deleteMergeJournalsOf(tx: Queryable, customerIds: string[]): Promise<number> {
  if (customerIds.length === 0) return 0;
  const ids = uuidArray(customerIds);
  const result = await tx.execute<{ n: number }>(sql`
    with involved as (
      select unnest(${ids}) as id
      union select source_customer_id from merge_redirects where target_customer_id = any(${ids})
    ),
    gone as (
      delete from merge_journals
       where source_customer_id in (select id from involved)
          or target_customer_id in (select id from involved)
      returning 1
    )
    select count(*)::int as n from gone`);
  return result.rows[0]?.n ?? 0;
}

/** Deletes the journals whose undo window has passed; returns how many. */
export async function purgeExpiredMergeJournals(db: Queryable): Promise<number> {
  const gone = await db
    .delete(mergeJournals)
    .where(lte(mergeJournals.expiresAt, sql`now()`))
    .returning({ jobId: mergeJournals.jobId });
  return gone.length;
}
