/**
 * Which deletion job erases a privacy request's customer: the jobs still
 * going that could, the one that did, and how far it got (per place, from
 * its job items). The request's lifecycle (operations/gdpr-requests.ts)
 * asks this module; this module never changes a request.
 */
import { and, desc, eq, inArray, notInArray, or, sql } from 'drizzle-orm';
import type { Queryable } from '../db/client';
import type { GdprRequestRow } from '../db/queries/gdpr';
import { findJob, type JobRow } from '../db/queries/job-rows';
import { gdprRequests, jobItems, jobs, type ErasedPlace } from '../db/schema';
import { isPending } from '../domain/gdpr';

export type JobAtStake = Pick<JobRow, 'id' | 'status' | 'workflowId' | 'createdAt'>;

/**
 * Whether a job that is not final has lost its workflow (terminated, timed
 * out, never started…): such a job is settled by the reconciler and must not
 * be followed, linked or block a decision meanwhile. The API asks Temporal.
 */
export type AbandonedCheck = (job: JobAtStake) => Promise<boolean>;

export const neverAbandoned: AbandonedCheck = async () => false;

/** A job status that is not final. */
export const goesOn = (status: string) => ['pending', 'running'].includes(status);

/**
 * The erasure job that keeps a request from being declined: the one it
 * follows while that runs, or once it has erased the customer (the request
 * is about to be completed by it).
 */
export async function erasureRunning(
  db: Queryable,
  row: GdprRequestRow,
  isAbandoned: AbandonedCheck,
): Promise<string | undefined> {
  if (!row.erasureJobId) return undefined;
  const job = await findJob(db, row.erasureJobId);
  if (!job) return undefined;
  if (goesOn(job.status)) return (await isAbandoned(job)) ? undefined : job.id;
  const progress = await erasureProgressOf(db, job.id, row.customerId);
  return progress.status === 'completed' ? job.id : undefined;
}

/** The single-deletion jobs of this customer (a job's parameters name what it deletes). */
const singleDeletionOf = (customerId: string) =>
  and(
    eq(jobs.type, 'delete'),
    sql`${jobs.params}->>'entity' = 'customer'`,
    sql`${jobs.params}->>'id' = ${customerId}`,
  );

/**
 * The deletion jobs not yet final that a pending request's erasure could be
 * left to: the one it follows, and those erasing its customer. The API asks
 * Temporal about these before it takes the request's lock, so the lock is
 * never held across a call to Temporal.
 */
export async function openErasureJobsOf(db: Queryable, id: string): Promise<JobAtStake[]> {
  const [row] = await db.select().from(gdprRequests).where(eq(gdprRequests.id, id));
  if (!row || !isPending(row)) return [];
  const candidate = {
    id: jobs.id,
    status: jobs.status,
    workflowId: jobs.workflowId,
    createdAt: jobs.createdAt,
  };
  const open = inArray(jobs.status, ['pending', 'running']);
  const linked = row.erasureJobId
    ? await db
        .select(candidate)
        .from(jobs)
        .where(and(eq(jobs.id, row.erasureJobId), open))
    : [];
  const singles = await db
    .select(candidate)
    .from(jobs)
    .where(and(singleDeletionOf(row.customerId), open));
  const bulks = await db
    .select(candidate)
    .from(jobItems)
    .innerJoin(jobs, eq(jobs.id, jobItems.jobId))
    .where(
      and(
        eq(jobItems.objectId, row.customerId),
        eq(jobItems.status, 'pending'),
        eq(jobs.type, 'bulk_delete'),
        open,
      ),
    );
  const unique = new Map([...linked, ...singles, ...bulks].map((job) => [job.id, job]));
  return [...unique.values()];
}

/**
 * A deletion job of this customer that is still going, or the one that
 * already erased it: either can fulfil the request instead of a new one. A
 * bulk erasure counts when the customer is among its objects, not yet
 * failed, and the job was not cancelled or failed before reaching it.
 */
export async function deletionJobOf(
  db: Queryable,
  customerId: string,
  exclude: string[] = [],
): Promise<JobAtStake | undefined> {
  const candidate = {
    id: jobs.id,
    status: jobs.status,
    workflowId: jobs.workflowId,
    createdAt: jobs.createdAt,
  };
  const notExcluded = exclude.length > 0 ? [notInArray(jobs.id, exclude)] : [];
  const [single] = await db
    .select(candidate)
    .from(jobs)
    .where(
      and(
        singleDeletionOf(customerId),
        inArray(jobs.status, ['pending', 'running', 'completed']),
        ...notExcluded,
      ),
    )
    .orderBy(sql`${jobs.status} = 'completed'`, desc(jobs.createdAt))
    .limit(1);
  if (single) return single;
  const [bulk] = await db
    .select(candidate)
    .from(jobItems)
    .innerJoin(jobs, eq(jobs.id, jobItems.jobId))
    .where(
      and(
        ...notExcluded,
        eq(jobItems.objectId, customerId),
        eq(jobs.type, 'bulk_delete'),
        sql`${jobs.params}->>'entity' = 'customer'`,
        or(
          eq(jobItems.status, 'done'),
          and(eq(jobItems.status, 'pending'), inArray(jobs.status, ['pending', 'running'])),
        ),
      ),
    )
    .orderBy(sql`${jobItems.status} = 'done'`, desc(jobs.createdAt))
    .limit(1);
  return bulk;
}

export type ErasureProgress =
  | { status: 'running' }
  | { status: 'failed'; code: string }
  | {
      status: 'completed';
      jobId: string;
      places: ErasedPlace[];
      erasedAt: Date;
      /** The kinds of identifier saved searches were checked for (operations/delete.ts). */
      identifierKindsChecked: string[];
    };

const placesOf = (counts: Record<string, unknown> | null | undefined): ErasedPlace[] =>
  Object.entries(counts ?? {})
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([place, count]) => ({ place, count }));

const kindsCheckedIn = (record: Record<string, unknown> | null | undefined): string[] => {
  const kinds = record?.identifierKindsChecked;
  return Array.isArray(kinds) ? kinds.filter((kind) => typeof kind === 'string') : [];
};

/**
 * How far an erasure job has got with this customer. A single deletion
 * answers for itself; a bulk erasure for the customer's own item, which may
 * be done (with what was erased of that customer) while the job goes on.
 * A single deletion that found the customer gone lost a race to another
 * deletion job of the customer (a DELETE sent at the same time): that job
 * answers instead, and `jobId` of a completed erasure names the one that did it.
 */
export async function erasureProgressOf(
  db: Queryable,
  jobId: string,
  customerId: string,
): Promise<ErasureProgress> {
  const job = await findJob(db, jobId);
  if (!job) return { status: 'failed', code: 'JOB_NOT_FOUND' };
  const jobGoesOn = ['pending', 'running', 'awaiting_confirmation'].includes(job.status);
  const jobFailure = () => job.error?.code ?? job.status.toUpperCase();
  if (job.type !== 'bulk_delete') {
    if (job.status === 'completed') {
      // It found the customer already erased by another job: that job answers.
      const erasedBy = job.result?.erasedBy;
      if (typeof erasedBy === 'string' && erasedBy !== jobId)
        return erasureProgressOf(db, erasedBy, customerId);
      const counts = (job.result?.counts ?? {}) as Record<string, unknown>;
      return {
        status: 'completed',
        jobId,
        places: placesOf(counts),
        erasedAt: job.completedAt ?? new Date(),
        identifierKindsChecked: kindsCheckedIn(job.result),
      };
    }
    if (jobGoesOn) return { status: 'running' };
    if (job.error?.code === 'CUSTOMER_NOT_FOUND') {
      const winner = await deletionJobOf(db, customerId);
      if (winner && winner.id !== jobId) return erasureProgressOf(db, winner.id, customerId);
    }
    return { status: 'failed', code: jobFailure() };
  }
  const [item] = await db
    .select({
      status: jobItems.status,
      reason: jobItems.reason,
      counts: jobItems.counts,
      at: jobItems.updatedAt,
    })
    .from(jobItems)
    .where(and(eq(jobItems.jobId, jobId), eq(jobItems.objectId, customerId)));
  if (!item) return { status: 'failed', code: 'CUSTOMER_NOT_IN_JOB' };
  if (item.status === 'done') {
    // Already gone when the batch reached it: nothing of it was left to erase.
    return {
      status: 'completed',
      jobId,
      places: placesOf(item.counts),
      erasedAt: item.at,
      identifierKindsChecked: kindsCheckedIn(item.counts),
    };
  }
  if (item.status === 'pending') {
    return jobGoesOn ? { status: 'running' } : { status: 'failed', code: jobFailure() };
  }
  return { status: 'failed', code: item.reason ?? `ITEM_${item.status.toUpperCase()}` };
}
