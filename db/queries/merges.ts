import { createHash } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import {
  assertDifferentCustomers,
  checkMergeLimit,
  emailsToAdd,
  mergeProfiles,
  phonesToAdd,
} from '../../domain/merge';
import { DomainError } from '../../lib/errors';
import type { Queryable, Transaction } from '../client';
import { conversations, customers, jobs, kobjects, mergeRedirects } from '../schema';
import { audit, transitionJob, type JobRow } from './jobs';
import { enqueueSearchSync } from './search-outbox';
import type { CustomerRow } from './customers';

export interface MergeParams {
  sourceCustomerId: string;
  targetCustomerId: string;
  itemLimit: number;
}

interface TimelineState {
  fingerprint: string;
  sizes: Map<string, { conversations: number; kobjects: number }>;
}

/**
 * What a preview promised, as a hash: both customers' profiles and the exact
 * sets of their conversations and KObjects. Any change in between (an item
 * added, moved or deleted, a profile edited, a customer merged away) changes it.
 */
async function timelineState(db: Queryable, customerRows: CustomerRow[]): Promise<TimelineState> {
  const ids = customerRows.map((c) => c.id);
  const list = sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const items = await db.execute<{ customer_id: string; kind: string; id: string }>(sql`
    select customer_id, 'conversation' as kind, id from conversations where customer_id in (${list})
    union all
    select customer_id, 'kobject', id from kobjects where customer_id in (${list})
    order by 1, 2, 3`);
  const hash = createHash('sha256');
  const sizes = new Map(ids.map((id) => [id, { conversations: 0, kobjects: 0 }]));
  for (const customer of [...customerRows].sort((a, b) => a.id.localeCompare(b.id))) {
    hash.update(`${customer.id}@${customer.updatedAt.toISOString()}\n`);
  }
  for (const item of items.rows) {
    hash.update(`${item.customer_id}/${item.kind}/${item.id}\n`);
    const size = sizes.get(item.customer_id)!;
    if (item.kind === 'conversation') size.conversations += 1;
    else size.kobjects += 1;
  }
  return { fingerprint: hash.digest('hex'), sizes };
}

const lockCustomers = (tx: Transaction, ids: string[]) =>
  // A fixed lock order (by ID) means two jobs on the same customers queue up instead of deadlocking.
  tx.select().from(customers).where(inArray(customers.id, ids)).orderBy(customers.id).for('update');

function limitCheck(params: MergeParams, state: TimelineState) {
  const size = (id: string) => ({ customerId: id, ...state.sizes.get(id)! });
  checkMergeLimit(size(params.sourceCustomerId), size(params.targetCustomerId), params.itemLimit);
}

export type PrepareOutcome =
  { status: 'awaiting_confirmation' } | { status: 'rejected'; code: string };

function outcomeOf(job: JobRow): PrepareOutcome {
  return job.status === 'rejected'
    ? { status: 'rejected', code: job.error?.code ?? 'REJECTED' }
    : { status: 'awaiting_confirmation' };
}

/**
 * Checks a pending merge and records its preview, or rejects it with a code.
 * A job that is no longer pending is answered from its row (safe to retry).
 */
export async function prepareMerge(
  db: Queryable,
  jobId: string,
  expiresAt: Date,
): Promise<PrepareOutcome> {
  return db.transaction(async (tx) => {
    const [job] = await tx.select().from(jobs).where(eq(jobs.id, jobId)).for('update');
    if (!job) throw new Error(`job ${jobId} does not exist`);
    if (job.status !== 'pending') return outcomeOf(job);
    const params = job.params as unknown as MergeParams;
    const reject = async (error: DomainError) => {
      await transitionJob(tx, jobId, ['pending'], 'rejected', {
        error: { code: error.code, message: error.message },
      });
      return { status: 'rejected' as const, code: error.code };
    };
    try {
      assertDifferentCustomers(params.sourceCustomerId, params.targetCustomerId);
      const rows = await tx
        .select()
        .from(customers)
        .where(inArray(customers.id, [params.sourceCustomerId, params.targetCustomerId]))
        .for('share');
      for (const id of [params.sourceCustomerId, params.targetCustomerId]) {
        if (!rows.some((r) => r.id === id)) {
          throw new DomainError(
            'not_found',
            'CUSTOMER_NOT_FOUND',
            `No customer has the ID ${id}.`,
            { id },
          );
        }
      }
      const state = await timelineState(tx, rows);
      limitCheck(params, state);
      const source = rows.find((r) => r.id === params.sourceCustomerId)!;
      const target = rows.find((r) => r.id === params.targetCustomerId)!;
      const movingConversations = await tx
        .select({
          id: conversations.id,
          subject: conversations.subject,
          status: conversations.status,
          channel: conversations.channel,
        })
        .from(conversations)
        .where(eq(conversations.customerId, source.id))
        .orderBy(sql`${conversations.lastActivityAt} desc`);
      const movingKObjects = await tx.execute<{ id: string; klass: string; title: string }>(sql`
        select k.id, kl.name as klass, k.title from kobjects k join klasses kl on kl.id = k.klass_id
        where k.customer_id = ${source.id} order by k.last_activity_at desc`);
      const preview = {
        conversations: movingConversations,
        kobjects: movingKObjects.rows,
        emailsAdded: emailsToAdd(target.emails, source.emails).map((e) => e.address),
        phonesAdded: phonesToAdd(target.phones, source.phones).map((p) => p.number),
        counts: {
          conversations: movingConversations.length,
          kobjects: movingKObjects.rows.length,
          total: movingConversations.length + movingKObjects.rows.length,
        },
        fingerprint: state.fingerprint,
      };
      await transitionJob(tx, jobId, ['pending'], 'awaiting_confirmation', { preview, expiresAt });
      return { status: 'awaiting_confirmation' as const };
    } catch (error) {
      if (error instanceof DomainError) return reject(error);
      throw error;
    }
  });
}

export interface MergeResult {
  sourceCustomerId: string;
  targetCustomerId: string;
  conversationIds: string[];
  kobjectIds: string[];
  counts: { conversations: number; kobjects: number; emailsAdded: number; phonesAdded: number };
}

const stale = (why: string) =>
  new DomainError(
    'conflict',
    'PREVIEW_STALE',
    `${why} since the preview; start a new merge to see a fresh preview.`,
  );

/**
 * Executes a confirmed merge in one transaction that re-checks everything the
 * preview showed. Retried after a crash, it finds its own committed result and
 * returns it instead of merging again.
 */
export async function executeMerge(
  db: Queryable,
  jobId: string,
  confirmedBy: string,
): Promise<MergeResult> {
  return db.transaction(async (tx) => {
    const [job] = await tx.select().from(jobs).where(eq(jobs.id, jobId)).for('update');
    if (!job) throw new Error(`job ${jobId} does not exist`);
    if (job.result) return job.result as unknown as MergeResult;
    if (job.status !== 'awaiting_confirmation') {
      throw new DomainError(
        'conflict',
        'JOB_NOT_AWAITING_CONFIRMATION',
        `The job is ${job.status}.`,
        { status: job.status },
      );
    }
    const params = job.params as unknown as MergeParams;
    const { sourceCustomerId: sourceId, targetCustomerId: targetId } = params;
    const rows = await lockCustomers(tx, [sourceId, targetId]);
    const source = rows.find((r) => r.id === sourceId);
    const target = rows.find((r) => r.id === targetId);
    if (!source || !target)
      throw stale(`Customer ${source ? targetId : sourceId} was merged or deleted`);
    const state = await timelineState(tx, rows);
    if (state.fingerprint !== (job.preview as { fingerprint?: string } | null)?.fingerprint) {
      throw stale('A timeline or profile changed');
    }
    limitCheck(params, state);

    const movedConversations = await tx
      .update(conversations)
      .set({ customerId: targetId })
      .where(eq(conversations.customerId, sourceId))
      .returning({ id: conversations.id });
    const movedKObjects = await tx
      .update(kobjects)
      .set({ customerId: targetId })
      .where(eq(kobjects.customerId, sourceId))
      .returning({ id: kobjects.id });
    const merged = mergeProfiles(target, source);

    // Old links to the source, and to everything merged into it before, now lead to the target.
    await tx
      .update(mergeRedirects)
      .set({ targetCustomerId: targetId })
      .where(eq(mergeRedirects.targetCustomerId, sourceId));
    await tx.delete(customers).where(eq(customers.id, sourceId));
    await tx
      .insert(mergeRedirects)
      .values({ sourceCustomerId: sourceId, targetCustomerId: targetId, jobId });
    await tx
      .update(customers)
      .set({
        ...merged,
        updatedAt: sql`now()`,
        lastActivityAt: sql`greatest(${customers.lastActivityAt}, ${source.lastActivityAt.toISOString()}::timestamptz)`,
      })
      .where(eq(customers.id, targetId));

    const result: MergeResult = {
      sourceCustomerId: sourceId,
      targetCustomerId: targetId,
      conversationIds: movedConversations.map((r) => r.id),
      kobjectIds: movedKObjects.map((r) => r.id),
      counts: {
        conversations: movedConversations.length,
        kobjects: movedKObjects.length,
        emailsAdded: merged.emails.length - target.emails.length,
        phonesAdded: merged.phones.length - target.phones.length,
      },
    };
    await audit(tx, [
      {
        actorUserId: confirmedBy,
        action: 'customer.merged',
        objectType: 'customer',
        objectId: targetId,
        jobId,
        details: { sourceCustomerId: sourceId, ...result.counts },
      },
      {
        actorUserId: confirmedBy,
        action: 'customer.merged_away',
        objectType: 'customer',
        objectId: sourceId,
        jobId,
        details: { targetCustomerId: targetId },
      },
    ]);
    // The workflow updates the index itself; the outbox is the safety net should it never get there.
    await enqueueSearchSync(tx, 'customer', [sourceId, targetId]);
    await enqueueSearchSync(tx, 'conversation', result.conversationIds);
    await enqueueSearchSync(tx, 'kobject', result.kobjectIds);
    await transitionJob(tx, jobId, ['awaiting_confirmation'], 'running', {
      result: result as unknown as Record<string, unknown>,
    });
    return result;
  });
}
