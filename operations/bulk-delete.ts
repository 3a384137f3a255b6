/**
 * Bulk erasure: a selection fixed when the job starts (job_items), deleted in
 * batches. Each batch is one transaction that erases its objects and records
 * them done in the same commit, so a job resumed after any crash or outage
 * picks up exactly where it stopped and deletes every object once.
 */
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { afterCommit, type Queryable } from '../db/client';
import { audit } from '../db/queries/audit';
import {
  finishedStatuses,
  transitionJob,
  type JobRow,
  type JobStatus,
} from '../db/queries/job-rows';
import { jobItems, jobs, savedSearches, type jobItemStatuses } from '../db/schema';
import { DomainError } from '../lib/errors';
import { bulkErasureItems } from '../lib/metrics';
import type { PhoneRegion } from '../domain/phones';
import { recordDeletionEvents } from '../db/queries/webhooks';
import { eraseObjects, type DeletableEntity } from './delete';
import { lockJob } from './job-steps';
import { uuidArray } from '../db/sql';

export interface BulkDeleteParams {
  entity: DeletableEntity;
  ids?: string[];
  savedSearchId?: string;
}

export interface BulkProgress {
  total: number;
  done: number;
  failed: number;
  remaining: number;
  /** Objects of this batch held by another job, to be tried again. */
  busy: number;
  /** Objects this batch erased or found already gone. */
  handled: number;
}

/** How often a bulk job finds an object locked by another job before it counts it as failed. */
const MAX_BUSY_ATTEMPTS = 5;

/**
 * Fixes the selection of a pending bulk job and starts it. Done once: a
 * retry finds the job running and answers with the total it recorded.
 */
export async function recordSelection(
  db: Queryable,
  jobId: string,
  ids: string[],
): Promise<number> {
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    if (job.status !== 'pending') return job.progressTotal;
    const unique = [...new Set(ids)];
    // One array parameter, positions in selection order: 20,000 rows in one statement.
    await tx.execute(sql`
      insert into job_items (job_id, position, object_id)
      select ${jobId}::uuid, position - 1, object_id
      from unnest(${uuidArray(unique)}) with ordinality as selected(object_id, position)`);
    await transitionJob(tx, jobId, ['pending'], 'running', {
      progressTotal: unique.length,
      result: { counts: {} },
    });
    return unique.length;
  });
}

/** The parameters of a bulk job, for the activity that resolves its selection. */
export async function bulkParams(db: Queryable, jobId: string) {
  const [job] = await db
    .select({
      params: jobs.params,
      status: jobs.status,
      startedBy: jobs.startedBy,
      progressTotal: jobs.progressTotal,
      error: jobs.error,
    })
    .from(jobs)
    .where(eq(jobs.id, jobId));
  return job && { ...job, params: job.params as unknown as BulkDeleteParams };
}

export type BulkJob = NonNullable<Awaited<ReturnType<typeof bulkParams>>>;

/** What previewing a bulk job's selection came to: a count to confirm, or a refusal. */
export type SelectionPreview =
  { status: 'awaiting_confirmation'; total: number } | { status: 'rejected'; code: string };

/** The preview outcome a job's row already records (a retried step answers from it). */
export function previewOutcomeOf(job: Pick<BulkJob, 'status' | 'progressTotal' | 'error'>) {
  return (
    job.status === 'rejected'
      ? { status: 'rejected', code: job.error?.code ?? 'REJECTED' }
      : { status: 'awaiting_confirmation', total: job.progressTotal }
  ) satisfies SelectionPreview;
}

const tableOf = { customer: 'customers', conversation: 'conversations', kobject: 'kobjects' };

/**
 * The customers a bulk job's frozen selection touches: the selected customers
 * themselves, or the owners of the selected conversations or KObjects (read
 * before they are deleted). IDs only, in selection order for customers.
 */
export async function customersOfSelection(db: Queryable, jobId: string): Promise<string[]> {
  const job = await bulkParams(db, jobId);
  if (!job) return [];
  if (job.params.entity === 'customer') {
    const rows = await db.execute<{ id: string }>(sql`
      select object_id as id from job_items where job_id = ${jobId} order by position`);
    return rows.rows.map((r) => r.id);
  }
  const table = sql.identifier(tableOf[job.params.entity]);
  const rows = await db.execute<{ id: string }>(sql`
    select distinct t.customer_id as id
    from job_items ji join ${table} t on t.id = ji.object_id
    where ji.job_id = ${jobId}`);
  return rows.rows.map((r) => r.id);
}

/**
 * Freezes a bulk job's selection — the objects among `ids` that exist now, in
 * order — and records its preview: the count its confirmation must repeat.
 * Nothing is erased until then. An empty selection is refused.
 */
export async function recordPreviewedSelection(
  db: Queryable,
  jobId: string,
  ids: string[],
  expiresAt: Date,
): Promise<SelectionPreview> {
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    if (job.status !== 'pending') return previewOutcomeOf(job);
    const params = job.params as unknown as BulkDeleteParams;
    const table = sql.identifier(tableOf[params.entity]);
    const inserted = await tx.execute(sql`
      insert into job_items (job_id, position, object_id)
      select ${jobId}::uuid, row_number() over (order by first) - 1, object_id
      from (
        select object_id, min(position) as first
        from unnest(${uuidArray(ids)}) with ordinality as selected(object_id, position)
        where exists (select 1 from ${table} t where t.id = selected.object_id)
        group by object_id
      ) existing`);
    const count = inserted.rowCount ?? 0;
    if (count === 0) {
      const refusal = new DomainError(
        'unprocessable',
        'NOTHING_SELECTED',
        params.savedSearchId
          ? 'The saved search matches nothing to erase: no object matches it exactly.'
          : 'None of the selected objects exists (any more); there is nothing to erase.',
      );
      await transitionJob(tx, jobId, ['pending'], 'rejected', {
        error: { code: refusal.code, message: refusal.message, kind: refusal.kind },
      });
      return { status: 'rejected', code: refusal.code };
    }
    const [saved] = params.savedSearchId
      ? await tx
          .select({ updatedAt: savedSearches.updatedAt })
          .from(savedSearches)
          .where(eq(savedSearches.id, params.savedSearchId))
      : [];
    await transitionJob(tx, jobId, ['pending'], 'awaiting_confirmation', {
      progressTotal: count,
      expiresAt,
      preview: {
        count,
        // Asked for by ID but not there: not part of the selection.
        notFound: params.ids ? new Set(params.ids).size - count : 0,
        ...(saved ? { savedSearchUpdatedAt: saved.updatedAt.toISOString() } : {}),
      },
    });
    return { status: 'awaiting_confirmation', total: count };
  });
}

/**
 * Starts a previewed bulk job confirmed with the count it showed. A retry
 * finds it running (or already ended) and does nothing.
 */
export async function startBulkDeletion(
  db: Queryable,
  jobId: string,
  confirmedBy: string,
  count: number,
): Promise<void> {
  await db.transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    if (job.status !== 'awaiting_confirmation') {
      if (job.status === 'running' || isFinishedStatus(job.status)) return;
      throw new DomainError(
        'conflict',
        'JOB_NOT_AWAITING_CONFIRMATION',
        `The job is ${job.status}.`,
      );
    }
    assertPreviewedCount(job, count);
    await transitionJob(tx, jobId, ['awaiting_confirmation'], 'running', {
      result: { counts: {} },
    });
    await audit(tx, [
      {
        actorUserId: confirmedBy,
        action: 'bulk_delete.confirmed',
        objectType: 'job',
        objectId: jobId,
        jobId,
        details: { count },
      },
    ]);
  });
}

/** A bulk erasure is confirmed by repeating the count its preview showed, so no one erases more than they saw. */
export function assertPreviewedCount(job: Pick<JobRow, 'progressTotal'>, count: number): void {
  if (count !== job.progressTotal) {
    throw new DomainError(
      'unprocessable',
      'COUNT_MISMATCH',
      `The preview selected ${job.progressTotal} objects, not ${count}: confirm with the previewed count.`,
      { previewedCount: job.progressTotal, count },
    );
  }
}

/** A previewed job that was never confirmed ends so; its selection is left untouched (skipped). */
export async function closeUnconfirmed(
  db: Queryable,
  jobId: string,
  status: 'expired' | 'cancelled',
): Promise<void> {
  await db.transaction(async (tx) => {
    await lockJob(tx, jobId);
    await skipPendingItems(tx, jobId);
    await transitionJob(tx, jobId, ['pending', 'awaiting_confirmation'], status);
  });
}

const isFinishedStatus = (status: JobStatus) => finishedStatuses.includes(status);

const addCounts = (sum: Record<string, number>, more: Record<string, number>) => {
  const total = { ...sum };
  for (const [key, value] of Object.entries(more)) total[key] = (total[key] ?? 0) + value;
  return total;
};

/** Deletes the next batch of a running bulk job and records its progress. */
export async function deleteBulkBatch(
  db: Queryable,
  jobId: string,
  { batchSize, phoneRegion }: { batchSize: number; phoneRegion: PhoneRegion },
): Promise<BulkProgress> {
  const counted = { entity: '', done: 0, failed: 0 };
  const progress = await db.transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    const params = job.params as unknown as BulkDeleteParams;
    counted.entity = params.entity;
    let handled = 0;
    let busy = 0;
    if (job.status === 'running') {
      const batch = await tx
        .select({ objectId: jobItems.objectId })
        .from(jobItems)
        .where(and(eq(jobItems.jobId, jobId), eq(jobItems.status, 'pending')))
        .orderBy(asc(jobItems.position))
        .limit(batchSize);
      const ids = batch.map((item) => item.objectId);
      if (ids.length > 0) {
        const outcome = await eraseObjects(
          tx,
          params.entity,
          ids,
          { userId: job.startedBy, jobId },
          { wait: false, phoneRegion },
        );
        await recordDeletionEvents(tx, params.entity, outcome.erased, jobId);
        const gone = [...outcome.erased, ...outcome.missing];
        handled = gone.length;
        busy = outcome.busy.length;
        // Done, with what erasing each object removed when the erasure says (customers).
        const done = await tx.execute(sql`
          update job_items set status = 'done', reason = null, updated_at = now(), counts = erased.value
          from unnest(${uuidArray(gone)}) as gone(id)
            left join jsonb_each(${JSON.stringify(outcome.countsByObject ?? {})}::jsonb) as erased
              on erased.key::uuid = gone.id
          where job_id = ${jobId} and object_id = gone.id`);
        const tried = await tx.execute<{ status: string }>(sql`
          update job_items set attempts = attempts + 1, updated_at = now(),
            status = case when attempts + 1 >= ${MAX_BUSY_ATTEMPTS} then 'failed'::job_item_status else status end,
            reason = case when attempts + 1 >= ${MAX_BUSY_ATTEMPTS} then 'OBJECT_BUSY' else reason end
          where job_id = ${jobId} and object_id = any(${uuidArray(outcome.busy)})
          returning status`);
        const failed = tried.rows.filter((row) => row.status === 'failed').length;
        counted.done = done.rowCount ?? 0;
        counted.failed = failed;
        const counts = (job.result?.counts as Record<string, number> | undefined) ?? {};
        // Progress moves by what this batch changed, in the same commit: counting
        // every item of the job again would cost a scan of the whole selection per batch.
        const [progress] = await tx
          .update(jobs)
          .set({
            result: { ...job.result, counts: addCounts(counts, outcome.counts) },
            progressDone: sql`${jobs.progressDone} + ${done.rowCount ?? 0}`,
            progressFailed: sql`${jobs.progressFailed} + ${failed}`,
            updatedAt: sql`now()`,
          })
          .where(eq(jobs.id, jobId))
          .returning({
            total: jobs.progressTotal,
            done: jobs.progressDone,
            failed: jobs.progressFailed,
          });
        return {
          ...progress!,
          remaining: progress!.total - progress!.done - progress!.failed,
          busy,
          handled,
        };
      }
    }
    return { ...(await recordProgress(tx, jobId)), busy, handled };
  });
  afterCommit(db, () => {
    if (counted.done > 0)
      bulkErasureItems.inc({ entity: counted.entity, outcome: 'done' }, counted.done);
    if (counted.failed > 0) {
      bulkErasureItems.inc({ entity: counted.entity, outcome: 'failed' }, counted.failed);
    }
  });
  return progress;
}

/** Counts the job's items by status into its progress columns. */
async function recordProgress(db: Queryable, jobId: string) {
  const result = await db.execute<{
    total: string;
    done: string;
    failed: string;
    pending: string;
  }>(sql`
    select count(*) as total,
      count(*) filter (where status = 'done') as done,
      count(*) filter (where status = 'failed') as failed,
      count(*) filter (where status = 'pending') as pending
    from job_items where job_id = ${jobId}`);
  const row = result.rows[0]!;
  const progress = {
    total: Number(row.total),
    done: Number(row.done),
    failed: Number(row.failed),
    remaining: Number(row.pending),
  };
  await db
    .update(jobs)
    .set({
      progressTotal: progress.total,
      progressDone: progress.done,
      progressFailed: progress.failed,
      updatedAt: sql`now()`,
    })
    .where(eq(jobs.id, jobId));
  return progress;
}

/** What a job had not reached when it ended stays untouched: those items are skipped. */
const skipPendingItems = (db: Queryable, jobId: string) =>
  db.execute(sql`
    update job_items set status = 'skipped', updated_at = now()
    where job_id = ${jobId} and status = 'pending'`);

/** A cancelled job leaves what it had not reached untouched: those items are skipped. */
export async function skipRemainingItems(db: Queryable, jobId: string): Promise<void> {
  await db.transaction(async (tx) => {
    await lockJob(tx, jobId);
    await skipPendingItems(tx, jobId);
    await recordProgress(tx, jobId);
  });
}

/** A bulk job's items, in selection order, optionally of one status. */
export async function listJobItems(
  db: Queryable,
  jobId: string,
  {
    status,
    after,
    limit,
  }: { status?: (typeof jobItemStatuses)[number] | undefined; after?: number; limit: number },
) {
  const conditions = [eq(jobItems.jobId, jobId)];
  if (status) conditions.push(eq(jobItems.status, status));
  if (after !== undefined) conditions.push(gt(jobItems.position, after));
  return db
    .select()
    .from(jobItems)
    .where(and(...conditions))
    .orderBy(asc(jobItems.position))
    .limit(limit);
}

/**
 * What a person reading a bulk job's selection recognises each object by —
 * a customer's name, a conversation's subject, a KObject's title — for the
 * objects that still exist. Personal data: shown to the job's starter only.
 */
export async function displayNamesOf(
  db: Queryable,
  entity: DeletableEntity,
  ids: string[],
): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const column = { customer: sql`name`, conversation: sql`subject`, kobject: sql`title` }[entity];
  const result = await db.execute<{ id: string; name: string | null }>(sql`
    select id, ${column} as name from ${sql.identifier(tableOf[entity])}
    where id = any(${uuidArray(ids)})`);
  return new Map(result.rows.map((row) => [row.id, row.name]));
}
