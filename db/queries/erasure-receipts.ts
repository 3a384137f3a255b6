import { sql } from 'drizzle-orm';
import type { ErasureReceipt, ErasureReceipts } from '../../domain/webhooks';
import type { Queryable } from '../client';

const iso = (value: Date | string | null) =>
  value === null ? null : new Date(value).toISOString();

/**
 * The receipts of a customer's erasure: one per endpoint its
 * `customer.erasure_requested` event was queued for. A customer is erased
 * once, so the customer ID finds its event.
 */
export async function erasureReceiptsOf(
  db: Queryable,
  customerId: string,
): Promise<ErasureReceipts> {
  const result = await db.execute<{
    endpoint_id: string;
    url: string;
    description: string | null;
    delivery_id: string;
    event_id: string;
    status: 'pending' | 'delivered' | 'failed';
    attempts: number;
    last_status_code: number | null;
    created_at: string;
    delivered_at: string | null;
    acknowledged_at: string | null;
    acknowledged_via: 'response' | 'api' | null;
    last_attempt_at: string | null;
  }>(sql`
    select w.id as endpoint_id, w.url, w.description, d.id as delivery_id, d.event_id,
           d.status, d.attempts, d.last_status_code, d.created_at, d.delivered_at,
           d.acknowledged_at, d.acknowledged_via,
           (select max(a.attempted_at) from webhook_attempts a where a.delivery_id = d.id)
             as last_attempt_at
    from webhook_events e
    join webhook_deliveries d on d.event_id = e.id
    join webhook_endpoints w on w.id = d.endpoint_id
    where e.type = 'customer.erasure_requested' and e.payload->>'customerId' = ${customerId}
    order by w.created_at, w.id, d.seq`);
  const receipts = result.rows.map((row): ErasureReceipt => ({
    endpointId: row.endpoint_id,
    url: row.url,
    description: row.description,
    deliveryId: row.delivery_id,
    eventId: row.event_id,
    status: row.acknowledged_at ? 'acknowledged' : row.status,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    queuedAt: iso(row.created_at)!,
    deliveredAt: iso(row.delivered_at),
    acknowledgedAt: iso(row.acknowledged_at),
    acknowledgedVia: row.acknowledged_via,
    failedAt: row.status === 'failed' ? iso(row.last_attempt_at) : null,
  }));
  const unconfirmedEndpointIds = receipts
    .filter((r) => r.status !== 'acknowledged')
    .map((r) => r.endpointId);
  return { confirmed: unconfirmedEndpointIds.length === 0, unconfirmedEndpointIds, receipts };
}

/** Whether some endpoint may still acknowledge: neither acknowledged nor given up on. */
export const awaitingReceipts = (receipts: ErasureReceipts) =>
  receipts.receipts.some((r) => r.status === 'pending' || r.status === 'delivered');
