import { and, eq, inArray, sql } from 'drizzle-orm';
import { recordWebhookEvent } from '../db/queries/webhooks';
import {
  assertDifferentCustomers,
  checkMergeLimit,
  emailsToAdd,
  mergeProfiles,
  phonesToAdd,
} from '../domain/merge';
import { DomainError, notFound } from '../lib/errors';
import type { Queryable } from '../db/client';
import { audit } from '../db/queries/audit';
import type { CustomerRow } from '../db/queries/customers';
import { enqueueSearchSync } from '../db/queries/search-outbox';
import { eventsPreview, moveEvents } from '../db/queries/events';
import { finishMergeJournal, writeMergeJournal } from '../db/queries/merge-journals';
import { conversations, customers, kobjects, mergeKeepApart, mergeRedirects } from '../db/schema';
import { assertNoErasurePending } from './gdpr-requests';
import {
  executeConfirmed,
  fingerprintOf,
  lockCustomers,
  recordPreview,
  staleError,
  type PrepareOutcome,
  type Touched,
} from './job-steps';

export interface MergeParams {
  sourceCustomerId: string;
  targetCustomerId: string;
  itemLimit: number;
  /** How long the merge can be undone (MERGE_UNDO_WINDOW when it started); absent or 0: no journal. */
  undoWindowMs?: number;
  /** The pair was marked "keep apart" by an undo: merging them anyway needs this. */
  override?: boolean;
}

interface TimelineState {
  fingerprint: string;
  sizes: Map<string, { conversations: number; kobjects: number }>;
}

/**
 * What a preview promised, as a hash: both customers' profiles and the exact
 * sets of their conversations and KObjects. Any change in between (an item
 * added, moved or deleted, a profile edited, a customer merged away) changes it.
 * Engagement events are left out on purpose: they arrive all the time, so
 * including them would make a busy customer's merge impossible to confirm;
 * execution moves every event the source has by then, whatever the preview counted.
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
  const sizes = new Map(ids.map((id) => [id, { conversations: 0, kobjects: 0 }]));
  for (const item of items.rows) {
    const size = sizes.get(item.customer_id)!;
    if (item.kind === 'conversation') size.conversations += 1;
    else size.kobjects += 1;
  }
  const fingerprint = fingerprintOf([
    ...[...customerRows]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((c) => `${c.id}@${c.updatedAt.toISOString()}`),
    ...items.rows.map((item) => `${item.customer_id}/${item.kind}/${item.id}`),
  ]);
  return { fingerprint, sizes };
}

function limitCheck(params: MergeParams, state: TimelineState) {
  const size = (id: string) => ({ customerId: id, ...state.sizes.get(id)! });
  checkMergeLimit(size(params.sourceCustomerId), size(params.targetCustomerId), params.itemLimit);
}

/**
 * Refuses (409 KEPT_APART) a merge of two customers an undo marked as
 * different people, unless the merge says `override: true`.
 */
async function assertNotKeptApart(db: Queryable, params: MergeParams): Promise<void> {
  const [a, b] = [params.sourceCustomerId, params.targetCustomerId].sort();
  const [mark] = await db
    .select({ jobId: mergeKeepApart.jobId })
    .from(mergeKeepApart)
    .where(and(eq(mergeKeepApart.customerA, a!), eq(mergeKeepApart.customerB, b!)));
  if (mark) {
    throw new DomainError(
      'conflict',
      'KEPT_APART',
      `An undo (job ${mark.jobId ?? 'unknown'}) marked these two customers as different people; ` +
        'merge them only with "override": true.',
      { unmergeJobId: mark.jobId },
    );
  }
}

/** Checks a pending merge and records its preview, or rejects it with a code. */
export function prepareMerge(
  db: Queryable,
  jobId: string,
  expiresAt: Date,
): Promise<PrepareOutcome> {
  return recordPreview<MergeParams>(db, jobId, expiresAt, async (tx, params) => {
    assertDifferentCustomers(params.sourceCustomerId, params.targetCustomerId);
    const rows = await tx
      .select()
      .from(customers)
      .where(inArray(customers.id, [params.sourceCustomerId, params.targetCustomerId]))
      .for('share');
    for (const id of [params.sourceCustomerId, params.targetCustomerId]) {
      if (!rows.some((r) => r.id === id)) throw notFound('Customer', id);
    }
    await assertNoErasurePending(tx, [params.sourceCustomerId, params.targetCustomerId]);
    if (!params.override) await assertNotKeptApart(tx, params);
    const state = await timelineState(tx, rows);
    limitCheck(params, state);
    const source = rows.find((r) => r.id === params.sourceCustomerId)!;
    const target = rows.find((r) => r.id === params.targetCustomerId)!;
    const moving = await tx
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
    return {
      conversations: moving,
      kobjects: movingKObjects.rows,
      emailsAdded: emailsToAdd(target.emails, source.emails).map((e) => e.address),
      phonesAdded: phonesToAdd(target.phones, source.phones).map((p) => p.number),
      counts: {
        conversations: moving.length,
        kobjects: movingKObjects.rows.length,
        total: moving.length + movingKObjects.rows.length,
      },
      events: await eventsPreview(tx, source.id),
      fingerprint: state.fingerprint,
    };
  });
}

export interface MergeResult extends Touched {
  counts: {
    conversations: number;
    kobjects: number;
    events: number;
    emailsAdded: number;
    phonesAdded: number;
  };
}

/** Executes a confirmed merge in one transaction that re-checks everything the preview showed. */
export function executeMerge(
  db: Queryable,
  jobId: string,
  confirmedBy: string,
): Promise<MergeResult> {
  return executeConfirmed<MergeParams, MergeResult>(db, jobId, async (tx, params, preview) => {
    const { sourceCustomerId: sourceId, targetCustomerId: targetId } = params;
    const rows = await lockCustomers(tx, [sourceId, targetId]);
    const source = rows.find((r) => r.id === sourceId);
    const target = rows.find((r) => r.id === targetId);
    if (!source || !target)
      throw staleError(`Customer ${source ? targetId : sourceId} was merged or deleted`);
    await assertNoErasurePending(tx, [sourceId, targetId]);
    const state = await timelineState(tx, rows);
    // The fingerprint fixes both item sets, so the limit checked at the preview still holds.
    if (state.fingerprint !== preview.fingerprint)
      throw staleError('A timeline or profile changed');

    const journaled = (params.undoWindowMs ?? 0) > 0;
    if (journaled)
      await writeMergeJournal(tx, { jobId, sourceId, targetId, windowMs: params.undoWindowMs! });

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
    // Before the source row goes: its delete would cascade to the events.
    const movedEvents = await moveEvents(tx, sourceId, targetId);
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
    if (journaled) await finishMergeJournal(tx, jobId, targetId);

    const result: MergeResult = {
      customerIds: [sourceId, targetId],
      conversationIds: movedConversations.map((r) => r.id),
      kobjectIds: movedKObjects.map((r) => r.id),
      counts: {
        conversations: movedConversations.length,
        kobjects: movedKObjects.length,
        events: movedEvents,
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
    // The outbox is the one indexer: the worker's sync loop projects these and the job waits for it.
    await enqueueSearchSync(tx, 'customer', [sourceId, targetId]);
    await enqueueSearchSync(tx, 'conversation', result.conversationIds);
    await enqueueSearchSync(tx, 'kobject', result.kobjectIds);
    await recordWebhookEvent(tx, 'customer.merged', {
      jobId,
      survivorCustomerId: targetId,
      mergedCustomerId: sourceId,
      ...result.counts,
    });
    return result;
  });
}
