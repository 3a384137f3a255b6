/**
 * The two database steps every confirmable job shares: recording a preview
 * for a pending job, and executing a confirmed one exactly once.
 */
import { createHash } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import type { Queryable, Transaction } from '../db/client';
import { transitionJob, type JobRow, type JobStatus } from '../db/queries/job-rows';
import { uuidArray } from '../db/sql';
import { customers, jobs } from '../db/schema';
import { DomainError, notFound } from '../lib/errors';

export type PrepareOutcome =
  { status: 'awaiting_confirmation' } | { status: 'rejected'; code: string };

/** What an executed job touched: IDs for the search index, counts for the job's result. */
export interface Touched {
  customerIds: string[];
  conversationIds: string[];
  kobjectIds: string[];
  counts: Record<string, number>;
}

/** A preview: what the API shows, plus the fingerprint the execution compares against. */
export interface Preview {
  fingerprint: string;
  [shown: string]: unknown;
}

/** Rows in a fixed lock order (by ID), so jobs on the same customers queue up instead of deadlocking. */
export const lockCustomers = (tx: Transaction, ids: string[]) =>
  tx
    .select()
    .from(customers)
    .where(inArray(customers.id, [...new Set(ids)]))
    .orderBy(customers.id)
    .for('update');

export function fingerprintOf(lines: string[]): string {
  const hash = createHash('sha256');
  for (const line of lines) hash.update(`${line}\n`);
  return hash.digest('hex');
}

export const staleError = (why: string) =>
  new DomainError(
    'conflict',
    'PREVIEW_STALE',
    `${why} since the preview; start again to see a fresh preview.`,
  );

export async function lockJob(tx: Transaction, jobId: string): Promise<JobRow> {
  const [job] = await tx.select().from(jobs).where(eq(jobs.id, jobId)).for('update');
  if (!job) throw notFound('Job', jobId);
  return job;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Every ID these records spell out, wherever it sits in them: an erasure of
 * any of those objects finds the job by them (`job_mentions`).
 */
function mentionsOf(...records: unknown[]): string[] {
  const found = JSON.stringify(records).match(UUID) ?? [];
  return [...new Set(found.map((id) => id.toLowerCase()))];
}

/**
 * Runs `build` for a pending job and records its preview, or records the
 * refusal it throws. A job that is no longer pending is answered from its row,
 * so the step is safe to retry.
 */
export async function recordPreview<P>(
  db: Queryable,
  jobId: string,
  expiresAt: Date,
  build: (tx: Transaction, params: P) => Promise<Preview>,
): Promise<PrepareOutcome> {
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    if (job.status === 'rejected')
      return { status: 'rejected', code: job.error?.code ?? 'REJECTED' };
    if (job.status !== 'pending') return { status: 'awaiting_confirmation' };
    try {
      const preview = await build(tx, job.params as P);
      await transitionJob(tx, jobId, ['pending'], 'awaiting_confirmation', { preview, expiresAt });
      await tx.execute(sql`
        insert into job_mentions (object_id, job_id)
        select unnest(${uuidArray(mentionsOf(job.params, preview))}), ${jobId}::uuid
        on conflict do nothing`);
      return { status: 'awaiting_confirmation' };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await transitionJob(tx, jobId, ['pending'], 'rejected', {
        error: { code: error.code, message: error.message, kind: error.kind },
      });
      return { status: 'rejected', code: error.code };
    }
  });
}

/**
 * Executes a job in one transaction: a confirmed one, or one that needs no
 * confirmation (`from: ['pending']`). Retried after a crash, it finds the
 * result its first attempt committed and returns it instead of acting twice.
 */
export async function executeConfirmed<P, R extends object>(
  db: Queryable,
  jobId: string,
  execute: (tx: Transaction, params: P, preview: Preview, job: JobRow) => Promise<R>,
  from: JobStatus[] = ['awaiting_confirmation'],
): Promise<R> {
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    if (job.result) return job.result as R;
    if (!from.includes(job.status)) {
      throw new DomainError(
        'conflict',
        'JOB_NOT_AWAITING_CONFIRMATION',
        `The job is ${job.status}.`,
        { status: job.status },
      );
    }
    const result = await execute(tx, job.params as P, job.preview as Preview, job);
    await transitionJob(tx, jobId, from, 'running', {
      result: result as Record<string, unknown>,
    });
    return result;
  });
}
