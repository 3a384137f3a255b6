/**
 * What a privacy request tells webhook subscribers, recorded in the
 * transaction that changes the request (the outbox): that it was created,
 * that it was completed — and, for an erasure, each subscribed system's
 * receipt of it at completion, for the request's record.
 */
import type { Queryable } from '../db/client';
import { erasureReceiptsOf } from '../db/queries/erasure-receipts';
import type { GdprRequestRow } from '../db/queries/gdpr';
import { recordWebhookEvent } from '../db/queries/webhooks';
import type { ErasureReceipts } from '../domain/webhooks';

const idsOf = (row: GdprRequestRow) => ({
  privacyRequestId: row.id,
  customerId: row.customerId,
  type: row.type,
  regulation: row.regulation,
});

export async function announcePrivacyRequestCreated(
  tx: Queryable,
  row: GdprRequestRow,
): Promise<void> {
  await recordWebhookEvent(tx, 'privacy_request.created', idsOf(row));
}

/** `row` as completed; for an erasure, `downstreamConfirmed` says whether every system acknowledged it. */
export async function announcePrivacyRequestCompleted(
  tx: Queryable,
  row: GdprRequestRow,
): Promise<void> {
  const downstream = row.completionRecord?.downstream;
  await recordWebhookEvent(tx, 'privacy_request.completed', {
    ...idsOf(row),
    jobId: row.erasureJobId,
    ...(downstream ? { downstreamConfirmed: downstream.confirmed } : {}),
  });
}

/** The erasure's receipts as they stand, for the completion record. */
export async function downstreamAtCompletion(
  tx: Queryable,
  customerId: string,
): Promise<{ downstream: ErasureReceipts }> {
  return { downstream: await erasureReceiptsOf(tx, customerId) };
}
