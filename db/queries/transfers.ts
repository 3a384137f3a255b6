/**
 * Split (move conversations) and KObject moves: the preview and execution
 * steps of their jobs. Attributes and everything not selected stay put.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { assertDifferentCustomers } from '../../domain/merge';
import {
  assertConversationsOfSource,
  assertKObjects,
  assertSomethingSelected,
} from '../../domain/transfers';
import { notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { conversations, customers, klasses, kobjects } from '../schema';
import { latestEventAt } from './events';
import { audit } from './jobs';
import {
  executeConfirmed,
  fingerprintOf,
  lockCustomers,
  recordPreview,
  staleError,
  type PrepareOutcome,
} from './job-steps';
import { enqueueSearchSync } from './search-outbox';

export interface SplitParams {
  sourceCustomerId: string;
  targetCustomerId: string;
  conversationIds: string[];
}

export interface KObjectMoveParams {
  targetCustomerId: string;
  kobjectIds: string[];
}

/** What a transfer did: IDs for the index, counts for the job's result. */
export interface TransferResult {
  customerIds: string[];
  conversationIds: string[];
  kobjectIds: string[];
  counts: { conversations: number; kobjects: number };
}

async function assertCustomersExist(db: Queryable, ids: string[]): Promise<void> {
  const rows = await db
    .select({ id: customers.id })
    .from(customers)
    .where(inArray(customers.id, ids));
  for (const id of ids) if (!rows.some((r) => r.id === id)) throw notFound('Customer', id);
}

/** The selected conversations and who owns them now. */
const conversationOwners = (db: Queryable, ids: string[]) =>
  db
    .select({
      id: conversations.id,
      customerId: conversations.customerId,
      subject: conversations.subject,
      status: conversations.status,
      channel: conversations.channel,
    })
    .from(conversations)
    .where(inArray(conversations.id, ids))
    .orderBy(conversations.id);

/** The checks the API makes before a split job starts, made again by the job itself. */
export async function checkSplit(db: Queryable, params: SplitParams) {
  assertSomethingSelected(params.conversationIds, 'conversations');
  assertDifferentCustomers(params.sourceCustomerId, params.targetCustomerId);
  await assertCustomersExist(db, [params.sourceCustomerId, params.targetCustomerId]);
  const owned = await conversationOwners(db, params.conversationIds);
  assertConversationsOfSource(
    params.conversationIds,
    new Set(owned.filter((c) => c.customerId === params.sourceCustomerId).map((c) => c.id)),
  );
  return owned;
}

const splitFingerprint = (params: SplitParams, owned: { id: string; customerId: string }[]) =>
  fingerprintOf([
    params.sourceCustomerId,
    params.targetCustomerId,
    ...owned.map((c) => `${c.id}/${c.customerId}`),
  ]);

export function prepareSplit(
  db: Queryable,
  jobId: string,
  expiresAt: Date,
): Promise<PrepareOutcome> {
  return recordPreview<SplitParams>(db, jobId, expiresAt, async (tx, params) => {
    const owned = await checkSplit(tx, params);
    return {
      conversations: owned.map(({ id, subject, status, channel }) => ({
        id,
        subject,
        status,
        channel,
      })),
      counts: { conversations: owned.length },
      fingerprint: splitFingerprint(params, owned),
    };
  });
}

/**
 * A customer's last activity is that of its most recent item or event (or its creation
 * when none is left): after a move it is worked out again for both customers.
 */
async function recomputeLastActivity(db: Queryable, customerIds: string[]): Promise<void> {
  for (const id of customerIds) {
    await db.execute(sql`
      update customers set last_activity_at = greatest(
        created_at,
        (select max(last_activity_at) from conversations where customer_id = ${id}),
        (select max(last_activity_at) from kobjects where customer_id = ${id}),
        ${latestEventAt(id)})
      where id = ${id}`);
  }
}

export function executeSplit(
  db: Queryable,
  jobId: string,
  confirmedBy: string,
): Promise<TransferResult> {
  return executeConfirmed<SplitParams, TransferResult>(db, jobId, async (tx, params, preview) => {
    const { sourceCustomerId: sourceId, targetCustomerId: targetId } = params;
    const locked = await lockCustomers(tx, [sourceId, targetId]);
    if (locked.length < 2) throw staleError('A customer was merged or deleted');
    const owned = await conversationOwners(tx, params.conversationIds).for('update');
    if (splitFingerprint(params, owned) !== preview.fingerprint)
      throw staleError('A selected conversation moved or was deleted');
    const moved = await tx
      .update(conversations)
      .set({ customerId: targetId })
      .where(
        and(
          inArray(conversations.id, params.conversationIds),
          eq(conversations.customerId, sourceId),
        ),
      )
      .returning({ id: conversations.id });
    await recomputeLastActivity(tx, [sourceId, targetId]);
    await audit(
      tx,
      moved.map((c) => ({
        actorUserId: confirmedBy,
        action: 'conversation.moved',
        objectType: 'conversation',
        objectId: c.id,
        jobId,
        details: { fromCustomerId: sourceId, toCustomerId: targetId },
      })),
    );
    await enqueueSearchSync(tx, 'customer', [sourceId, targetId]);
    await enqueueSearchSync(
      tx,
      'conversation',
      moved.map((c) => c.id),
    );
    return {
      customerIds: [sourceId, targetId],
      conversationIds: moved.map((c) => c.id),
      kobjectIds: [],
      counts: { conversations: moved.length, kobjects: 0 },
    };
  });
}

/** The selected KObjects, their klass and who owns them now. */
const kobjectOwners = (db: Queryable, ids: string[]) =>
  db
    .select({
      id: kobjects.id,
      customerId: kobjects.customerId,
      klass: klasses.name,
      title: kobjects.title,
    })
    .from(kobjects)
    .innerJoin(klasses, eq(klasses.id, kobjects.klassId))
    .where(inArray(kobjects.id, ids))
    .orderBy(kobjects.id);

export async function checkKObjectMove(db: Queryable, params: KObjectMoveParams) {
  assertSomethingSelected(params.kobjectIds, 'kobjects');
  await assertCustomersExist(db, [params.targetCustomerId]);
  const found = await kobjectOwners(db, params.kobjectIds);
  assertKObjects(
    params.kobjectIds,
    new Map(found.map((k) => [k.id, k.customerId])),
    params.targetCustomerId,
  );
  return found;
}

const moveFingerprint = (params: KObjectMoveParams, found: { id: string; customerId: string }[]) =>
  fingerprintOf([params.targetCustomerId, ...found.map((k) => `${k.id}/${k.customerId}`)]);

export function prepareKObjectMove(
  db: Queryable,
  jobId: string,
  expiresAt: Date,
): Promise<PrepareOutcome> {
  return recordPreview<KObjectMoveParams>(db, jobId, expiresAt, async (tx, params) => {
    const found = await checkKObjectMove(tx, params);
    return {
      kobjects: found.map(({ id, klass, title, customerId }) => ({
        id,
        klass,
        title,
        currentCustomerId: customerId,
      })),
      counts: { kobjects: found.length },
      fingerprint: moveFingerprint(params, found),
    };
  });
}

export function executeKObjectMove(
  db: Queryable,
  jobId: string,
  confirmedBy: string,
): Promise<TransferResult> {
  return executeConfirmed<KObjectMoveParams, TransferResult>(
    db,
    jobId,
    async (tx, params, preview) => {
      const owners = await kobjectOwners(tx, params.kobjectIds);
      const customerIds = [
        ...new Set([params.targetCustomerId, ...owners.map((k) => k.customerId)]),
      ];
      const locked = await lockCustomers(tx, customerIds);
      if (!locked.some((c) => c.id === params.targetCustomerId))
        throw staleError('The target customer was merged or deleted');
      const current = await tx
        .select({ id: kobjects.id, customerId: kobjects.customerId })
        .from(kobjects)
        .where(inArray(kobjects.id, params.kobjectIds))
        .orderBy(kobjects.id)
        .for('update');
      if (moveFingerprint(params, current) !== preview.fingerprint)
        throw staleError('A selected KObject moved or was deleted');
      await tx
        .update(kobjects)
        .set({ customerId: params.targetCustomerId })
        .where(inArray(kobjects.id, params.kobjectIds));
      await recomputeLastActivity(tx, customerIds);
      await audit(
        tx,
        current.map((k) => ({
          actorUserId: confirmedBy,
          action: 'kobject.moved',
          objectType: 'kobject',
          objectId: k.id,
          jobId,
          details: { fromCustomerId: k.customerId, toCustomerId: params.targetCustomerId },
        })),
      );
      await enqueueSearchSync(tx, 'customer', customerIds);
      await enqueueSearchSync(tx, 'kobject', params.kobjectIds);
      return {
        customerIds,
        conversationIds: [],
        kobjectIds: current.map((k) => k.id),
        counts: { conversations: 0, kobjects: current.length },
      };
    },
  );
}
