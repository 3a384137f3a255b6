/**
 * Records retention of privacy requests: a request that was completed or
 * declined is kept as proof for its regulation's retention period (CCPA: at
 * least 24 months), then purged with everything kept about it — its row
 * (reference, notes, completion record, delivery), its clock history, the
 * in-app notices about it and its export archives' rows (their bytes went at
 * the close). The audit log keeps its entries: IDs and actions only, never
 * personal data, and append-only by design.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { audit } from '../db/queries/audit';
import { uuidArray } from '../db/sql';
import { privacyRegulations } from '../db/schema';

export type RetentionDays = Record<(typeof privacyRegulations)[number], number>;

/** Requests purged per transaction: a backlog is worked through in short steps. */
const PURGE_BATCH = 500;

/**
 * Purges the closed requests whose `closedAt` + their regulation's retention
 * lies before `now`. Open and overdue requests are never touched, however
 * old. Returns how many were purged, per regulation. Safe to run at once on
 * several workers (SKIP LOCKED), and again after a crash.
 */
export async function purgeExpiredPrivacyRecords(
  db: Database,
  retentionDays: RetentionDays,
  now = new Date(),
): Promise<Record<string, number>> {
  const purged: Record<string, number> = {};
  for (const regulation of privacyRegulations) {
    const cutoff = new Date(now.getTime() - retentionDays[regulation] * 86_400_000);
    purged[regulation] = 0;
    for (;;) {
      const ids = await db.transaction(async (tx) => {
        const due = await tx.execute<{ id: string }>(sql`
          select id from gdpr_requests
          where regulation = ${regulation} and closed_at is not null
            and closed_at < ${cutoff.toISOString()}::timestamptz
            and status in ('completed', 'declined')
          order by closed_at
          limit ${PURGE_BATCH}
          for update skip locked`);
        const ids = due.rows.map((row) => row.id);
        if (ids.length === 0) return ids;
        const list = uuidArray(ids);
        await tx.execute(sql`delete from notifications where gdpr_request_id = any(${list})`);
        await tx.execute(sql`delete from export_archives where request_id = any(${list})`);
        // The clock history goes by its cascade.
        await tx.execute(sql`delete from gdpr_requests where id = any(${list})`);
        await audit(
          tx,
          ids.map((id) => ({
            actorUserId: null,
            action: 'gdpr_request.purged',
            objectType: 'gdpr_request',
            objectId: id,
            details: { regulation, retentionDays: retentionDays[regulation] },
          })),
        );
        return ids;
      });
      purged[regulation] += ids.length;
      if (ids.length < PURGE_BATCH) break;
    }
  }
  return purged;
}
