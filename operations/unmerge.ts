/**
 * Undoing a merge from its journal (db/queries/merge-journals.ts): whether a
 * merge can be undone and why not, the preview of what comes back, and the
 * one transaction that brings the source back under its own ID with
 * everything that moved and is still where the merge put it.
 */
import { eq, sql } from 'drizzle-orm';
import type { Queryable, Transaction } from '../db/client';
import { audit } from '../db/queries/audit';
import { findJob, type JobRow } from '../db/queries/job-rows';
import {
  deleteMergeJournal,
  findMergeJournal,
  type MergeJournalRow,
} from '../db/queries/merge-journals';
import { enqueueSearchSync } from '../db/queries/search-outbox';
import { customers, jobs, mergeKeepApart, mergeRedirects } from '../db/schema';
import { takeBack, type CustomerJson, type TakeBack } from '../domain/unmerge';
import { DomainError, notFound } from '../lib/errors';
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
import type { MergeParams } from './merge';

export interface UnmergeParams {
  mergeJobId: string;
  sourceCustomerId: string;
  targetCustomerId: string;
  /** Record that the two are different people: a later merge of the pair needs `override`. */
  keepApart: boolean;
}

/** Why an item that moved cannot come back: it is gone, or it belongs to a third customer now. */
export type NotRestorableReason = 'DELETED_SINCE' | 'MOVED_SINCE';

export interface UndoStatus {
  undoable: boolean;
  code: string | null;
  reason: string | null;
  /** When the undo window of a journaled merge ends. */
  undoableUntil: string | null;
}

const mergeResultOf = (job: JobRow) =>
  (job.result ?? {}) as { undoneByJobId?: string; counts?: unknown };

/**
 * Why this merge cannot be undone now, or undefined: the one list of refusals
 * the merge's view, the preview and the execution all use. `journal` is the
 * merge's journal as just read (locked, at execution).
 */
async function undoRefusal(
  db: Queryable,
  merge: JobRow,
  journal: MergeJournalRow | undefined,
): Promise<DomainError | undefined> {
  const params = merge.params as unknown as MergeParams;
  const { sourceCustomerId: sourceId, targetCustomerId: targetId } = params;
  if (merge.status !== 'completed')
    return new DomainError(
      'conflict',
      'MERGE_NOT_COMPLETED',
      `The merge is ${merge.status}; only a completed merge can be undone.`,
      { mergeJobId: merge.id, jobStatus: merge.status },
    );
  const undoneBy = mergeResultOf(merge).undoneByJobId;
  if (undoneBy)
    return new DomainError(
      'conflict',
      'MERGE_ALREADY_UNDONE',
      `The merge was undone by job ${undoneBy}.`,
      { mergeJobId: merge.id, undoneByJobId: undoneBy },
    );
  const [target] = await db
    .select({ id: customers.id })
    .from(customers)
    .where(eq(customers.id, targetId));
  if (!target) {
    const [redirect] = await db
      .select()
      .from(mergeRedirects)
      .where(eq(mergeRedirects.sourceCustomerId, targetId));
    if (!redirect)
      return new DomainError(
        'gone',
        'CUSTOMER_ERASED',
        `Customer ${targetId} has been deleted or erased since the merge; nothing of it can come back.`,
        { mergeJobId: merge.id, customerId: targetId },
      );
    return new DomainError(
      'conflict',
      'MERGED_AGAIN',
      `Customer ${targetId} has since been merged into ${redirect.targetCustomerId}` +
        (redirect.jobId ? `; undo that merge (job ${redirect.jobId}) first.` : '.'),
      {
        mergeJobId: merge.id,
        customerId: targetId,
        mergedIntoCustomerId: redirect.targetCustomerId,
        undoFirstJobId: redirect.jobId,
      },
    );
  }
  const windowMs = params.undoWindowMs ?? 0;
  const closedAt = merge.completedAt && new Date(merge.completedAt.getTime() + windowMs);
  if (!journal && windowMs === 0)
    return new DomainError(
      'unprocessable',
      'NO_MERGE_JOURNAL',
      'This merge kept no journal (it ran before undo existed, or while MERGE_UNDO_WINDOW was 0); it cannot be undone.',
      { mergeJobId: merge.id },
    );
  if (journal ? journal.expiresAt <= new Date() : closedAt && closedAt <= new Date())
    return new DomainError(
      'gone',
      'UNDO_WINDOW_CLOSED',
      `The window to undo this merge closed at ${(journal?.expiresAt ?? closedAt)!.toISOString()}.`,
      { mergeJobId: merge.id },
    );
  if (!journal)
    return new DomainError(
      'gone',
      'CUSTOMER_ERASED',
      `The journal of this merge was erased with a customer it concerned; it cannot be undone.`,
      { mergeJobId: merge.id },
    );
  try {
    await assertNoErasurePending(db, [sourceId, targetId]);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  return undefined;
}

/** The merge's undo as its view shows it: possible or not, and why. */
export async function undoStatusOf(db: Queryable, merge: JobRow): Promise<UndoStatus> {
  const journal = await findMergeJournal(db, merge.id);
  const refusal = await undoRefusal(db, merge, journal);
  return {
    undoable: refusal === undefined,
    code: refusal?.code ?? null,
    reason: refusal?.message ?? null,
    undoableUntil: journal?.expiresAt.toISOString() ?? null,
  };
}

interface ItemState {
  kind: 'conversation' | 'kobject';
  id: string;
  owner: string | null;
  label: string | null;
  detail: Record<string, unknown>;
}

interface UndoPlan {
  journal: MergeJournalRow;
  takeBack: TakeBack;
  conversations: ItemState[];
  kobjects: ItemState[];
  events: { returning: number; deleted: number; moved: number };
  /** The source's external ID is held by another customer now. */
  externalIdTaken: boolean;
  fingerprint: string;
}

/**
 * Reads the merge, its journal and where everything it moved is now, refuses
 * with the reason it cannot be undone, and works out what will come back.
 */
async function planUndo(tx: Transaction, params: UnmergeParams): Promise<UndoPlan> {
  const merge = await findJob(tx, params.mergeJobId);
  if (!merge || merge.type !== 'merge') throw notFound('Merge', params.mergeJobId);
  const journal = await findMergeJournal(tx, merge.id, { lock: true });
  const refusal = await undoRefusal(tx, merge, journal);
  if (refusal) throw refusal;
  const { targetCustomerId: targetId } = params;

  const [current] = (
    await tx.execute<{ row: CustomerJson }>(
      sql`select to_jsonb(c) as row from customers c where c.id = ${targetId}`,
    )
  ).rows;
  const taken = takeBack(journal!.targetBefore, journal!.targetAfter ?? {}, current!.row);

  const items = await tx.execute<{
    kind: 'conversation' | 'kobject';
    id: string;
    owner: string | null;
    label: string | null;
    status: string | null;
    channel: string | null;
    klass: string | null;
  }>(sql`
    select j.kind, j.object_id as id, coalesce(c.customer_id, k.customer_id) as owner,
           coalesce(c.subject, k.title) as label, c.status::text, c.channel::text, kl.name as klass
    from merge_journal_items j
    left join conversations c on j.kind = 'conversation' and c.id = j.object_id
    left join kobjects k on j.kind = 'kobject' and k.id = j.object_id
    left join klasses kl on kl.id = k.klass_id
    where j.job_id = ${merge.id} and j.kind in ('conversation', 'kobject')
    order by j.kind, j.object_id`);
  const states: ItemState[] = items.rows.map((row) => ({
    kind: row.kind,
    id: row.id,
    owner: row.owner,
    label: row.label,
    detail:
      row.kind === 'conversation'
        ? { status: row.status, channel: row.channel }
        : { klass: row.klass },
  }));
  const [events] = (
    await tx.execute<{ returning: number; deleted: number; moved: number }>(sql`
      select count(*) filter (where e.customer_id = ${targetId})::int as returning,
             count(*) filter (where e.id is null)::int as deleted,
             count(*) filter (where e.customer_id <> ${targetId})::int as moved
      from merge_journal_items j left join engagement_events e on e.id = j.object_id
      where j.job_id = ${merge.id} and j.kind = 'event'`)
  ).rows;
  const externalId = journal!.source.external_id as string | null;
  const targetKeepsIt =
    externalId !== null &&
    current!.row.external_id === externalId &&
    !Object.hasOwn(taken.columns, 'external_id');
  const [holder] = externalId
    ? await tx
        .select({ id: customers.id })
        .from(customers)
        .where(sql`${customers.externalId} = ${externalId} and ${customers.id} <> ${targetId}`)
    : [];

  return {
    journal: journal!,
    takeBack: taken,
    conversations: states.filter((s) => s.kind === 'conversation'),
    kobjects: states.filter((s) => s.kind === 'kobject'),
    events: events!,
    externalIdTaken: targetKeepsIt || holder !== undefined,
    fingerprint: fingerprintOf([
      JSON.stringify(current!.row),
      ...states.map((s) => `${s.kind}/${s.id}@${s.owner ?? '-'}`),
      `events ${events!.returning}/${events!.deleted}/${events!.moved}`,
      `external ${holder?.id ?? '-'}`,
    ]),
  };
}

/** What cannot come back, item by item: deleted since, or moved to a third customer since. */
function notRestorable(plan: UndoPlan, targetId: string) {
  const items = [...plan.conversations, ...plan.kobjects].flatMap((item) => {
    if (item.owner === targetId) return [];
    const reason: NotRestorableReason = item.owner === null ? 'DELETED_SINCE' : 'MOVED_SINCE';
    return [{ kind: item.kind, id: item.id, reason, customerId: item.owner }];
  });
  const events = [
    ...(plan.events.deleted > 0
      ? [{ kind: 'events', count: plan.events.deleted, reason: 'DELETED_SINCE' }]
      : []),
    ...(plan.events.moved > 0
      ? [{ kind: 'events', count: plan.events.moved, reason: 'MOVED_SINCE' }]
      : []),
  ];
  const fields = [
    ...plan.takeBack.kept.map((kept) => ({
      kind: 'field',
      field: kept.field,
      reason: kept.reason,
    })),
    ...(plan.externalIdTaken
      ? [{ kind: 'field', field: 'externalId', reason: 'TAKEN_SINCE' }]
      : []),
  ];
  return [...items, ...events, ...fields];
}

/** Checks that the merge can be undone and records the preview of what comes back. */
export function prepareUnmerge(
  db: Queryable,
  jobId: string,
  expiresAt: Date,
): Promise<PrepareOutcome> {
  return recordPreview<UnmergeParams>(db, jobId, expiresAt, async (tx, params) => {
    const plan = await planUndo(tx, params);
    const { targetCustomerId: targetId } = params;
    const back = (items: ItemState[]) =>
      items
        .filter((item) => item.owner === targetId)
        .map((item) =>
          item.kind === 'conversation'
            ? { id: item.id, subject: item.label, ...item.detail }
            : { id: item.id, title: item.label, ...item.detail },
        );
    const conversations = back(plan.conversations);
    const kobjects = back(plan.kobjects);
    const missing = notRestorable(plan, targetId);
    return {
      mergeJobId: params.mergeJobId,
      customer: { id: params.sourceCustomerId, name: plan.journal.source.name },
      conversations,
      kobjects,
      takenBack: {
        emails: plan.takeBack.emails,
        phones: plan.takeBack.phones,
        fields: plan.takeBack.fields,
      },
      notRestorable: missing,
      counts: {
        conversations: conversations.length,
        kobjects: kobjects.length,
        events: plan.events.returning,
        notRestorable: missing.length,
      },
      fingerprint: plan.fingerprint,
    };
  });
}

export interface UnmergeResult extends Touched {
  counts: { conversations: number; kobjects: number; events: number; notRestorable: number };
}

const toJsonParam = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;

/**
 * Undoes a confirmed merge in one transaction: re-checks everything the
 * preview showed, gives the target back what it had, brings the source back
 * from the journal under its own ID (its redirect removed, the redirects
 * that led to it leading to it again), returns the items still with the
 * target, marks the merge undone and drops the journal.
 */
export function executeUnmerge(
  db: Queryable,
  jobId: string,
  confirmedBy: string,
): Promise<UnmergeResult> {
  return executeConfirmed<UnmergeParams, UnmergeResult>(db, jobId, async (tx, params, preview) => {
    const { mergeJobId, sourceCustomerId: sourceId, targetCustomerId: targetId } = params;
    await lockCustomers(tx, [targetId]);
    const plan = await planUndo(tx, params);
    if (plan.fingerprint !== preview.fingerprint)
      throw staleError('The customer or an item that the merge moved changed');

    const columns = Object.entries(plan.takeBack.columns);
    if (columns.length > 0) {
      await tx.execute(sql`
        update customers c set ${sql.join(
          columns.map(([column]) => sql`${sql.identifier(column)} = r.${sql.identifier(column)}`),
          sql`, `,
        )}, updated_at = now()
        from jsonb_populate_record(null::customers, ${toJsonParam(plan.takeBack.columns)}) r
        where c.id = ${targetId}`);
    }
    const source = plan.externalIdTaken
      ? { ...plan.journal.source, external_id: null }
      : plan.journal.source;
    await tx.execute(sql`
      insert into customers select * from jsonb_populate_record(null::customers, ${toJsonParam(source)})`);
    await tx.delete(mergeRedirects).where(eq(mergeRedirects.sourceCustomerId, sourceId));
    await tx.execute(sql`
      update merge_redirects set target_customer_id = ${sourceId}
      where target_customer_id = ${targetId} and source_customer_id in (
        select object_id from merge_journal_items where job_id = ${mergeJobId} and kind = 'redirect')`);

    const moveBack = async (table: 'conversations' | 'kobjects', kind: string) => {
      const moved = await tx.execute<{ id: string }>(sql`
        update ${sql.identifier(table)} set customer_id = ${sourceId}
        where customer_id = ${targetId} and id in (
          select object_id from merge_journal_items where job_id = ${mergeJobId} and kind = ${kind})
        returning id`);
      return moved.rows.map((row) => row.id);
    };
    const conversationIds = await moveBack('conversations', 'conversation');
    const kobjectIds = await moveBack('kobjects', 'kobject');
    // The merge cleared an event's external ID when the target held the same one; it comes back.
    const events = await tx.execute(sql`
      update engagement_events e set customer_id = ${sourceId}, external_id = coalesce(e.external_id, j.external_id)
      from merge_journal_items j
      where j.job_id = ${mergeJobId} and j.kind = 'event' and j.object_id = e.id and e.customer_id = ${targetId}`);

    await tx
      .update(jobs)
      .set({
        result: sql`coalesce(${jobs.result}, '{}'::jsonb) || ${toJsonParam({ undoneByJobId: jobId })}`,
        updatedAt: sql`now()`,
      })
      .where(eq(jobs.id, mergeJobId));
    await deleteMergeJournal(tx, mergeJobId);
    if (params.keepApart) {
      const [customerA, customerB] = [sourceId, targetId].sort();
      await tx
        .insert(mergeKeepApart)
        .values({ customerA: customerA!, customerB: customerB!, jobId })
        .onConflictDoNothing();
    }

    const result: UnmergeResult = {
      customerIds: [sourceId, targetId],
      conversationIds,
      kobjectIds,
      counts: {
        conversations: conversationIds.length,
        kobjects: kobjectIds.length,
        events: events.rowCount ?? 0,
        notRestorable: notRestorable(plan, targetId).length,
      },
    };
    await audit(tx, [
      {
        actorUserId: confirmedBy,
        action: 'customer.unmerged',
        objectType: 'customer',
        objectId: targetId,
        jobId,
        details: { sourceCustomerId: sourceId, mergeJobId, ...result.counts },
      },
      {
        actorUserId: confirmedBy,
        action: 'customer.restored',
        objectType: 'customer',
        objectId: sourceId,
        jobId,
        details: { targetCustomerId: targetId, mergeJobId },
      },
    ]);
    await enqueueSearchSync(tx, 'customer', [sourceId, targetId]);
    await enqueueSearchSync(tx, 'conversation', conversationIds);
    await enqueueSearchSync(tx, 'kobject', kobjectIds);
    return result;
  });
}
