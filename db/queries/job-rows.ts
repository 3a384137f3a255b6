import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { DomainError, notFound } from '../../lib/errors';
import { jobDuration, jobsFinished, jobsStarted } from '../../lib/metrics';
import { afterCommit, type Queryable } from '../client';
import { isUniqueViolation } from '../errors';
import { recordWebhookEvent } from './webhooks';
import {
  jobs,
  type JobError,
  type jobStatuses,
  type jobTypes,
  type OutcomeTeller,
} from '../schema';

export type JobRow = typeof jobs.$inferSelect;
export type JobType = (typeof jobTypes)[number];
export type JobStatus = (typeof jobStatuses)[number];

export const finishedStatuses: JobStatus[] = [
  'completed',
  'failed',
  'rejected',
  'expired',
  'cancelled',
];
export const unfinishedStatuses: JobStatus[] = ['pending', 'awaiting_confirmation', 'running'];

/**
 * Creates a job, or returns the one an earlier request with the same
 * Idempotency-Key created (`created: false`).
 */
export async function createJob(
  db: Queryable,
  values: {
    id: string;
    type: JobType;
    startedBy: string;
    params: Record<string, unknown>;
    workflowId: string;
    idempotencyKey?: string | undefined;
  },
): Promise<{ job: JobRow; created: boolean }> {
  const earlier = async () => {
    if (!values.idempotencyKey) return undefined;
    const existing = await findJobByIdempotencyKey(
      db,
      values.startedBy,
      values.type,
      values.idempotencyKey,
    );
    return existing && { job: sameRequest(existing, values.params), created: false };
  };
  const found = await earlier();
  if (found) return found;
  try {
    const [job] = await db.insert(jobs).values(values).returning();
    afterCommit(db, () => jobsStarted.inc({ type: values.type }));
    return { job: job!, created: true };
  } catch (error) {
    // Two requests with one key at once: the loser gives back the winner's job.
    const winner = isUniqueViolation(error, 'jobs_idempotency_key') ? await earlier() : undefined;
    if (winner) return winner;
    throw error;
  }
}

/** JSON with keys in one order, so equal parameters compare equal however they were written. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );

/** An Idempotency-Key names one request: reused with other parameters, it is refused. */
function sameRequest(job: JobRow, params: Record<string, unknown>): JobRow {
  if (canonical(job.params) !== canonical(params)) {
    throw new DomainError(
      'unprocessable',
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used for a request with other parameters; use a new key.',
      { jobId: job.id },
    );
  }
  return job;
}

async function findJobByIdempotencyKey(
  db: Queryable,
  startedBy: string,
  type: JobType,
  key: string,
) {
  const [job] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.startedBy, startedBy), eq(jobs.type, type), eq(jobs.idempotencyKey, key)));
  return job;
}

export async function findJob(db: Queryable, id: string): Promise<JobRow | undefined> {
  const [job] = await db.select().from(jobs).where(eq(jobs.id, id));
  return job;
}

/**
 * Claims telling a finished job's outcome for `teller`: true when it is this
 * teller's to tell (claimed now or before by the same kind), false when the
 * other already told it. The reply to a waiting request and the notice race
 * for the same outcome; the row decides, so the starter hears it once.
 */
export async function claimOutcomeTelling(
  db: Queryable,
  jobId: string,
  teller: OutcomeTeller,
): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ outcomeToldBy: teller })
    .where(
      and(
        eq(jobs.id, jobId),
        sql`(${jobs.outcomeToldBy} is null or ${jobs.outcomeToldBy} = ${teller})`,
      ),
    )
    .returning({ id: jobs.id });
  return rows.length > 0;
}

export async function getJob(db: Queryable, id: string): Promise<JobRow> {
  const job = await findJob(db, id);
  if (!job) throw notFound('Job', id);
  return job;
}

export async function listJobs(
  db: Queryable,
  {
    limit,
    cursor,
    type,
    status,
    startedBy,
  }: {
    limit: number;
    cursor?: string | undefined;
    type?: JobType | undefined;
    status?: JobStatus | undefined;
    startedBy?: string | undefined;
  },
) {
  const conditions: SQL[] = [];
  if (type) conditions.push(eq(jobs.type, type));
  if (status) conditions.push(eq(jobs.status, status));
  if (startedBy) conditions.push(eq(jobs.startedBy, startedBy));
  if (cursor) {
    const [createdAt, id] = decodeCursor(cursor, ['timestamp', 'uuid']);
    conditions.push(
      sql`(${jobs.createdAt}, ${jobs.id}) < (${createdAt}::timestamptz, ${id}::uuid)`,
    );
  }
  const rows = await db
    .select({ job: jobs, sortKey: sql<string>`${jobs.createdAt}::text` })
    .from(jobs)
    .where(and(...conditions))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => row.job),
    nextCursor: rows.length > limit && last ? encodeCursor([last.sortKey, last.job.id]) : null,
  };
}

/**
 * Moves a job to `status` if it is in one of `from`; returns whether it moved.
 * Guarded this way, a retried activity cannot move a job twice.
 */
export async function transitionJob(
  db: Queryable,
  jobId: string,
  from: JobStatus[],
  status: JobStatus,
  extra: Partial<
    Pick<JobRow, 'preview' | 'result' | 'error' | 'expiresAt' | 'progressTotal' | 'progressDone'>
  > & {
    error?: JobError | null;
    /** Merged into the job's result: what is known only once the job has ended. */
    outcome?: Record<string, unknown>;
  } = {},
): Promise<boolean> {
  const { outcome, ...values } = extra;
  const event =
    status === 'completed' ? 'job.completed' : status === 'failed' ? 'job.failed' : undefined;
  const move = async (q: Queryable) => {
    const rows = await q
      .update(jobs)
      .set({
        ...values,
        ...(outcome
          ? {
              result: sql`coalesce(${jobs.result}, '{}'::jsonb) || ${JSON.stringify(outcome)}::jsonb`,
            }
          : {}),
        status,
        updatedAt: sql`now()`,
        ...(finishedStatuses.includes(status) ? { completedAt: sql`now()` } : {}),
      })
      .where(and(eq(jobs.id, jobId), inArray(jobs.status, from)))
      .returning({
        id: jobs.id,
        type: jobs.type,
        error: jobs.error,
        createdAt: jobs.createdAt,
        completedAt: jobs.completedAt,
      });
    const moved = rows[0];
    // The event commits with the final status, so a job never ends unannounced or twice.
    if (moved && event) {
      await recordWebhookEvent(q, event, {
        jobId,
        jobType: moved.type,
        ...(event === 'job.failed' ? { errorCode: moved.error?.code ?? null } : {}),
      });
    }
    return moved;
  };
  const moved = await (event ? db.transaction(move) : move(db));
  if (moved && moved.completedAt && finishedStatuses.includes(status)) {
    const { type, createdAt, completedAt } = moved;
    // Counted once the move is committed: the guard above lets one caller move it, and a rollback counts nothing.
    afterCommit(db, () => {
      jobsFinished.inc({ type, outcome: status });
      jobDuration.observe(
        { type, outcome: status },
        Math.max(0, completedAt.getTime() - createdAt.getTime()) / 1000,
      );
    });
  }
  return moved !== undefined;
}

/** An open job as the reconciler reads it; `sortKey` (created_at as text, to the microsecond) pages on. */
export type OpenJob = Pick<JobRow, 'id' | 'type' | 'status' | 'workflowId' | 'createdAt'> & {
  sortKey: string;
};

/**
 * Jobs not yet in a final state, oldest first, a page after `after`: what the
 * reconciler compares with their workflows. `jobIds` narrows it to those jobs.
 */
export async function listOpenJobs(
  db: Queryable,
  {
    jobIds,
    after,
    limit,
  }: {
    jobIds?: string[] | undefined;
    after?: Pick<OpenJob, 'sortKey' | 'id'> | undefined;
    limit: number;
  },
): Promise<OpenJob[]> {
  return db
    .select({
      id: jobs.id,
      type: jobs.type,
      status: jobs.status,
      workflowId: jobs.workflowId,
      createdAt: jobs.createdAt,
      // A Date keeps milliseconds only: the next page must start after the row's exact time.
      sortKey: sql<string>`${jobs.createdAt}::text`,
    })
    .from(jobs)
    .where(
      and(
        inArray(jobs.status, unfinishedStatuses),
        ...(jobIds ? [inArray(jobs.id, jobIds)] : []),
        ...(after
          ? [
              sql`(${jobs.createdAt}, ${jobs.id}) > (${after.sortKey}::timestamptz, ${after.id}::uuid)`,
            ]
          : []),
      ),
    )
    .orderBy(jobs.createdAt, jobs.id)
    .limit(limit);
}
