/**
 * KObject moves: hands selected KObjects (with their pins) to another customer.
 */
import { eq, inArray } from 'drizzle-orm';
import { recordWebhookEvent } from '../db/queries/webhooks';
import type { Queryable } from '../db/client';
import { audit } from '../db/queries/audit';
import { assertCustomersExist, recomputeLastActivity } from '../db/queries/customers';
import { enqueueSearchSync } from '../db/queries/search-outbox';
import { klasses, kobjects } from '../db/schema';
import { assertKObjects, assertSomethingSelected } from '../domain/transfers';
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

export interface KObjectMoveParams {
  targetCustomerId: string;
  kobjectIds: string[];
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

/** The checks the API makes before a move job starts, made again by the job itself. */
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
    await assertNoErasurePending(tx, [params.targetCustomerId, ...found.map((k) => k.customerId)]);
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
): Promise<Touched> {
  return executeConfirmed<KObjectMoveParams, Touched>(db, jobId, async (tx, params, preview) => {
    const owners = await kobjectOwners(tx, params.kobjectIds);
    const customerIds = [...new Set([params.targetCustomerId, ...owners.map((k) => k.customerId)])];
    const locked = await lockCustomers(tx, customerIds);
    if (!locked.some((c) => c.id === params.targetCustomerId))
      throw staleError('The target customer was merged or deleted');
    await assertNoErasurePending(tx, customerIds);
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
    await recordWebhookEvent(
      tx,
      'kobject.moved',
      current.map((k) => ({
        kobjectId: k.id,
        fromCustomerId: k.customerId,
        toCustomerId: params.targetCustomerId,
        jobId,
      })),
    );
    return {
      customerIds,
      conversationIds: [],
      kobjectIds: current.map((k) => k.id),
      counts: { conversations: 0, kobjects: current.length },
    };
  });
}
