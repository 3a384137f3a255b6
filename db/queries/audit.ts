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
