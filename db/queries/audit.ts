import { and, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../client';
import { auditLog } from '../schema';

/** Appends to the audit log: who did what to which object ID, under which job. IDs and counts only. */
export async function audit(
  db: Queryable,
  entries: {
    actorUserId: string | null;
    action: string;
    objectType: string;
    objectId: string;
    jobId?: string | null;
    details?: Record<string, unknown>;
  }[],
): Promise<void> {
  if (entries.length === 0) return;
  // One JSON parameter instead of five per row: a deletion writes thousands of
  // entries, and building that many bound parameters cost more than the insert.
  const rows = entries.map((e) => ({
    actor_user_id: e.actorUserId,
    action: e.action,
    object_type: e.objectType,
    object_id: e.objectId,
    job_id: e.jobId ?? null,
    details: e.details ?? {},
  }));
  await db.execute(sql`
    insert into audit_log (actor_user_id, action, object_type, object_id, job_id, details)
    select actor_user_id, action, object_type, object_id, job_id, details
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as entry(
      actor_user_id uuid, action text, object_type text, object_id uuid, job_id uuid, details jsonb)`);
}

export interface AuditFilter {
  action?: string | undefined;
  objectType?: string | undefined;
  objectId?: string | undefined;
  jobId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** Entries older than this ID (the cursor). */
  before?: number | undefined;
  limit: number;
}

/**
 * The audit log, newest first, filtered (a query builder: await it, or hand it
 * to the query-plan test). An action or a time window is read from its own
 * index, not by walking the whole log back from its newest entry.
 */
export function listAuditLog(db: Queryable, filter: AuditFilter) {
  const conditions: SQL[] = [];
  if (filter.action) conditions.push(eq(auditLog.action, filter.action));
  if (filter.objectType) conditions.push(eq(auditLog.objectType, filter.objectType));
  if (filter.objectId) conditions.push(eq(auditLog.objectId, filter.objectId));
  if (filter.jobId) conditions.push(eq(auditLog.jobId, filter.jobId));
  if (filter.from) conditions.push(gte(auditLog.at, filter.from));
  if (filter.to) conditions.push(lt(auditLog.at, filter.to));
  if (filter.before !== undefined) conditions.push(lt(auditLog.id, filter.before));
  return db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(filter.limit);
}
