import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
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
  if (entries.length > 0) await db.insert(auditLog).values(entries);
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

/** The audit log, newest first, filtered. */
export async function listAuditLog(db: Queryable, filter: AuditFilter) {
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
