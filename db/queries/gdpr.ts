import { and, asc, eq, or, sql, type SQL } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import type { Queryable } from '../client';
import {
  auditLog,
  gdprRequests,
  type gdprRequestStatuses,
  type privacyRegulations,
  type privacyRequestTypes,
} from '../schema';
import type { Page } from './customers';

export type GdprRequestRow = typeof gdprRequests.$inferSelect;
export type GdprRequestStatus = (typeof gdprRequestStatuses)[number];
export type AuditRow = typeof auditLog.$inferSelect;

/** Narrows a listing or report to one type and/or regulation of request. */
export interface RequestKindFilter {
  type?: (typeof privacyRequestTypes)[number] | undefined;
  regulation?: (typeof privacyRegulations)[number] | undefined;
}

export async function findGdprRequest(
  db: Queryable,
  id: string,
): Promise<GdprRequestRow | undefined> {
  const [row] = await db.select().from(gdprRequests).where(eq(gdprRequests.id, id));
  return row;
}

/** Requests by deadline, soonest first. */
export async function listGdprRequests(
  db: Queryable,
  {
    limit,
    cursor,
    status,
    customerId,
    type,
    regulation,
  }: RequestKindFilter & {
    limit: number;
    cursor?: string | undefined;
    status?: GdprRequestStatus | undefined;
    customerId?: string | undefined;
  },
): Promise<Page<GdprRequestRow>> {
  const conditions: SQL[] = [];
  if (status) conditions.push(eq(gdprRequests.status, status));
  if (customerId) conditions.push(eq(gdprRequests.customerId, customerId));
  if (type) conditions.push(eq(gdprRequests.type, type));
  if (regulation) conditions.push(eq(gdprRequests.regulation, regulation));
  if (cursor) {
    const [dueAt, id] = decodeCursor(cursor, ['timestamp', 'uuid']);
    conditions.push(
      sql`(${gdprRequests.dueAt}, ${gdprRequests.id}) > (${dueAt}::timestamptz, ${id}::uuid)`,
    );
  }
  const rows = await db
    .select({ request: gdprRequests, sortKey: sql<string>`${gdprRequests.dueAt}::text` })
    .from(gdprRequests)
    .where(and(...conditions))
    .orderBy(asc(gdprRequests.dueAt), asc(gdprRequests.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => row.request),
    nextCursor: rows.length > limit && last ? encodeCursor([last.sortKey, last.request.id]) : null,
  };
}

/** What was done about a request: its own entries and those of its erasure job, oldest first. */
export async function gdprAuditTrail(db: Queryable, row: GdprRequestRow): Promise<AuditRow[]> {
  const own = and(eq(auditLog.objectType, 'gdpr_request'), eq(auditLog.objectId, row.id));
  return db
    .select()
    .from(auditLog)
    .where(row.erasureJobId ? or(own, eq(auditLog.jobId, row.erasureJobId)) : own)
    .orderBy(asc(auditLog.at), asc(auditLog.id))
    .limit(1000);
}

export interface GdprReport {
  received: number;
  completedOnTime: number;
  completedLate: number;
  declined: number;
  open: number;
  overdue: number;
  /** Median days from receiving to completing, over completed requests; null when none. */
  medianDaysToCompletion: number | null;
}

/** Counts over the requests received in [from, to), of one type and/or regulation when asked. */
export async function gdprReport(
  db: Queryable,
  from: Date,
  to: Date,
  { type, regulation }: RequestKindFilter = {},
): Promise<GdprReport> {
  const result = await db.execute<{
    received: number;
    completed_on_time: number;
    completed_late: number;
    declined: number;
    open: number;
    overdue: number;
    median_days: number | null;
  }>(sql`
    select
      count(*)::int as received,
      count(*) filter (where status = 'completed' and completed_at <= due_at)::int as completed_on_time,
      count(*) filter (where status = 'completed' and completed_at > due_at)::int as completed_late,
      count(*) filter (where status = 'declined')::int as declined,
      count(*) filter (where status = 'open')::int as open,
      count(*) filter (where status = 'overdue')::int as overdue,
      percentile_cont(0.5) within group (
        order by extract(epoch from completed_at - received_at) / 86400
      ) filter (where status = 'completed') as median_days
    from ${gdprRequests}
    where received_at >= ${from.toISOString()}::timestamptz
      and received_at < ${to.toISOString()}::timestamptz
      ${type ? sql`and type = ${type}` : sql``}
      ${regulation ? sql`and regulation = ${regulation}` : sql``}`);
  const row = result.rows[0]!;
  return {
    received: row.received,
    completedOnTime: row.completed_on_time,
    completedLate: row.completed_late,
    declined: row.declined,
    open: row.open,
    overdue: row.overdue,
    medianDaysToCompletion:
      row.median_days === null ? null : Math.round(Number(row.median_days) * 10) / 10,
  };
}
