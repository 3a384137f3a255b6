/**
 * Split: moves selected conversations (only conversations) from one customer
 * to another. Attributes, KObjects and events stay with the source.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { recordWebhookEvent } from '../db/queries/webhooks';
import type { Queryable } from '../db/client';
import { audit } from '../db/queries/audit';
import { assertCustomersExist, recomputeLastActivity } from '../db/queries/customers';
import { enqueueSearchSync } from '../db/queries/search-outbox';
import { conversations } from '../db/schema';
import { assertDifferentCustomers } from '../domain/merge';
import { assertConversationsOfSource, assertSomethingSelected } from '../domain/transfers';
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

export interface SplitParams {
  sourceCustomerId: string;
  targetCustomerId: string;
  conversationIds: string[];
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
    await assertNoErasurePending(tx, [params.sourceCustomerId, params.targetCustomerId]);
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

export function executeSplit(db: Queryable, jobId: string, confirmedBy: string): Promise<Touched> {
  return executeConfirmed<SplitParams, Touched>(db, jobId, async (tx, params, preview) => {
    const { sourceCustomerId: sourceId, targetCustomerId: targetId } = params;
    const locked = await lockCustomers(tx, [sourceId, targetId]);
    if (locked.length < 2) throw staleError('A customer was merged or deleted');
    await assertNoErasurePending(tx, [sourceId, targetId]);
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
    await recordWebhookEvent(
      tx,
      'conversation.moved',
      moved.map((c) => ({
        conversationId: c.id,
        fromCustomerId: sourceId,
        toCustomerId: targetId,
        jobId,
      })),
    );
    return {
      customerIds: [sourceId, targetId],
      conversationIds: moved.map((c) => c.id),
      kobjectIds: [],
      counts: { conversations: moved.length, kobjects: 0 },
    };
  });
}
