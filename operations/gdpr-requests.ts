/**
 * The lifecycle of privacy requests: recording one (one open request per
 * customer and type), declining it, linking and completing its erasure, and
 * the rule that keeps merges, splits and moves away from a customer whose
 * erasure is pending. Which deletion job erases the customer, and how far it
 * got, is operations/erasure-jobs.ts.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../db/client';
import { isUniqueViolation } from '../db/errors';
import { findCustomer, resolveMergedCustomer } from '../db/queries/customers';
import type { GdprRequestRow } from '../db/queries/gdpr';
import { audit } from '../db/queries/audit';
import { createJob, findJob, getJob, type JobRow } from '../db/queries/job-rows';
import { uuidArray } from '../db/sql';
import {
  customers,
  gdprRequests,
  type gdprDeclineReasons,
  type privacyRegulations,
  type privacyRequestTypes,
} from '../db/schema';
import { completedOnTime, dueAtOf, isPending, pendingStatuses } from '../domain/gdpr';
import {
  deletionJobOf,
  erasureProgressOf,
  erasureRunning,
  goesOn,
  neverAbandoned,
  type AbandonedCheck,
} from './erasure-jobs';
import { closeExportsOfRequest } from './exports';
import { DomainError, notFound } from '../lib/errors';
import {
  announcePrivacyRequestCompleted,
  announcePrivacyRequestCreated,
  downstreamAtCompletion,
} from './privacy-request-events';

export type GdprDeclineReason = (typeof gdprDeclineReasons)[number];

/**
 * Refuses (409 ERASURE_PENDING) when any of these customers has an open or
 * overdue erasure request. Called inside the merge, split and move
 * transactions after they lock the customers: a request is recorded under a
 * key-share lock on its customer, so it either committed before (and is seen
 * here) or waits until the job's transaction has finished.
 */
export async function assertNoErasurePending(db: Queryable, customerIds: string[]): Promise<void> {
  const ids = [...new Set(customerIds)];
  if (ids.length === 0) return;
  const [pending] = await db
    .select({ id: gdprRequests.id, customerId: gdprRequests.customerId })
    .from(gdprRequests)
    .where(
      and(
        inArray(gdprRequests.customerId, ids),
        eq(gdprRequests.type, 'erasure'),
        inArray(gdprRequests.status, pendingStatuses),
      ),
    )
    .orderBy(gdprRequests.customerId)
    .limit(1);
  if (pending) {
    throw new DomainError(
      'conflict',
      'ERASURE_PENDING',
      `Customer ${pending.customerId} has an erasure request pending; it cannot be merged, split or moved until the request is closed.`,
      { customerId: pending.customerId, gdprRequestId: pending.id },
    );
  }
}

const alreadyOpen = (customerId: string, type: PrivacyRequestType, existing: string | undefined) =>
  new DomainError(
    'conflict',
    'REQUEST_ALREADY_OPEN',
    `Customer ${customerId} already has an open ${type} request.`,
    { customerId, ...(existing ? { gdprRequestId: existing } : {}) },
  );

export type PrivacyRequestType = (typeof privacyRequestTypes)[number];
export type PrivacyRegulation = (typeof privacyRegulations)[number];

export interface NewGdprRequest {
  customerId: string;
  /** `erasure` unless said otherwise (the /v1/gdpr-requests routes never say). */
  type?: PrivacyRequestType;
  regulation?: PrivacyRegulation;
  /** Absent when the caller left it to default to `now`. */
  receivedAt: Date | undefined;
  now: Date;
  reference: string | null;
  requestedBy: string;
  deadlineDays: number;
  idempotencyKey?: string | undefined;
}

export interface RecordedGdprRequest {
  request: GdprRequestRow;
  /** The merged-away customer ID the caller gave, when it was resolved to the survivor. */
  resolvedFrom: string | null;
  /** False when an earlier request with the same Idempotency-Key recorded it. */
  created: boolean;
}

/**
 * The request an earlier call with this Idempotency-Key recorded, if any. The
 * key names one request: reused for another customer, reference or
 * receivedAt, it is refused.
 */
async function recordedEarlier(
  db: Queryable,
  values: NewGdprRequest,
  customerId: string,
  resolvedFrom: string | null,
): Promise<RecordedGdprRequest | undefined> {
  if (!values.idempotencyKey || !values.requestedBy) return undefined;
  const [row] = await db
    .select()
    .from(gdprRequests)
    .where(
      and(
        eq(gdprRequests.requestedBy, values.requestedBy),
        eq(gdprRequests.idempotencyKey, values.idempotencyKey),
      ),
    );
  if (!row) return undefined;
  const same =
    row.customerId === customerId &&
    row.type === (values.type ?? 'erasure') &&
    row.regulation === (values.regulation ?? 'gdpr') &&
    row.reference === values.reference &&
    (values.receivedAt === undefined || row.receivedAt.getTime() === values.receivedAt.getTime());
  if (!same) {
    throw new DomainError(
      'unprocessable',
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used for a request with other parameters; use a new key.',
      { gdprRequestId: row.id },
    );
  }
  return { request: row, resolvedFrom, created: false };
}

/**
 * Records a request. A merged-away customer's ID is resolved to the customer
 * that survived (`resolvedFrom` says so); a second open request for the same
 * customer is refused with REQUEST_ALREADY_OPEN, also when both arrive at once.
 */
export async function createGdprRequest(
  db: Queryable,
  values: NewGdprRequest,
): Promise<RecordedGdprRequest> {
  let customerId = values.customerId;
  let resolvedFrom: string | null = null;
  if (!(await findCustomer(db, customerId))) {
    const survivor = await resolveMergedCustomer(db, customerId);
    const earlier = await recordedEarlier(
      db,
      values,
      survivor ?? customerId,
      survivor ? customerId : null,
    );
    // A retry after the customer was erased gives back the request it recorded.
    if (earlier) return earlier;
    if (!survivor) throw notFound('Customer', customerId);
    resolvedFrom = customerId;
    customerId = survivor;
  } else {
    const earlier = await recordedEarlier(db, values, customerId, null);
    if (earlier) return earlier;
  }
  const receivedAt = values.receivedAt ?? values.now;
  const type = values.type ?? 'erasure';
  const dueAt = dueAtOf(receivedAt, values.deadlineDays);
  try {
    const request = await db.transaction(async (tx) => {
      // Key share: waits for a merge, split or move holding the customer, blocks no ordinary edit.
      const [customer] = await tx
        .select({ id: customers.id })
        .from(customers)
        .where(eq(customers.id, customerId))
        .for('key share');
      if (!customer) throw notFound('Customer', values.customerId);
      const [row] = await tx
        .insert(gdprRequests)
        .values({
          customerId,
          type,
          regulation: values.regulation ?? 'gdpr',
          reference: values.reference,
          receivedAt,
          dueAt,
          statutoryDueAt: dueAt,
          requestedBy: values.requestedBy,
          idempotencyKey: values.idempotencyKey ?? null,
        })
        .returning();
      await audit(tx, [
        {
          actorUserId: values.requestedBy,
          action: 'gdpr_request.created',
          objectType: 'gdpr_request',
          objectId: row!.id,
          details: {
            customerId,
            type,
            regulation: values.regulation ?? 'gdpr',
            ...(resolvedFrom ? { resolvedFrom } : {}),
          },
        },
      ]);
      await announcePrivacyRequestCreated(tx, row!);
      return row!;
    });
    return { request, resolvedFrom, created: true };
  } catch (error) {
    // Two requests with one key at once: the loser gives back the winner's request
    // (whichever unique index Postgres checked first).
    if (
      isUniqueViolation(error, 'gdpr_requests_idempotency_key') ||
      isUniqueViolation(error, 'gdpr_requests_one_open_per_customer_type')
    ) {
      const winner = await recordedEarlier(db, values, customerId, resolvedFrom);
      if (winner) return winner;
    }
    if (isUniqueViolation(error, 'gdpr_requests_one_open_per_customer_type')) {
      const [existing] = await db
        .select({ id: gdprRequests.id })
        .from(gdprRequests)
        .where(
          and(
            eq(gdprRequests.customerId, customerId),
            eq(gdprRequests.type, type),
            inArray(gdprRequests.status, pendingStatuses),
          ),
        );
      throw alreadyOpen(customerId, type, existing?.id);
    }
    throw error;
  }
}

/** Undoes a request whose workflow could not be started, so the caller can simply try again. */
export async function discardGdprRequest(db: Queryable, id: string, userId: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(gdprRequests).where(eq(gdprRequests.id, id));
    await audit(tx, [
      {
        actorUserId: userId,
        action: 'gdpr_request.discarded',
        objectType: 'gdpr_request',
        objectId: id,
      },
    ]);
  });
}

export async function lockRequest(db: Queryable, id: string): Promise<GdprRequestRow> {
  const [row] = await db.select().from(gdprRequests).where(eq(gdprRequests.id, id)).for('update');
  if (!row) throw notFound('GDPR request', id);
  return row;
}

export const closedError = (row: GdprRequestRow) =>
  new DomainError('conflict', 'REQUEST_CLOSED', `The request is already ${row.status}.`, {
    gdprRequestId: row.id,
    requestStatus: row.status,
  });

/** Refuses (409 WRONG_REQUEST_TYPE) an action meant for the other type of request. */
export function assertRequestType(row: GdprRequestRow, type: PrivacyRequestType): void {
  if (row.type === type) return;
  throw new DomainError(
    'conflict',
    'WRONG_REQUEST_TYPE',
    `This is ${row.type === 'access' ? 'an access' : 'an erasure'} request; only ${type} requests can do that.`,
    { gdprRequestId: row.id, requestType: row.type },
  );
}

/** A job row as far as deciding whether its workflow still lives needs it. */
/** Closes a pending request as declined, with the reason and the team's note; its export archives are deleted. */
export async function declineGdprRequest(
  db: Queryable,
  id: string,
  decision: { reason: GdprDeclineReason; note: string | null; userId: string },
  { isAbandoned = neverAbandoned }: { isAbandoned?: AbandonedCheck } = {},
): Promise<GdprRequestRow> {
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, id);
    if (!isPending(row)) throw closedError(row);
    const running = await erasureRunning(tx, row, isAbandoned);
    if (running) {
      throw new DomainError(
        'conflict',
        'ERASURE_RUNNING',
        'The erasure of this customer is running (or done and being recorded); the request cannot be declined.',
        { gdprRequestId: id, jobId: running },
      );
    }
    const [updated] = await tx
      .update(gdprRequests)
      .set({
        status: 'declined',
        declineReason: decision.reason,
        declineNote: decision.note,
        declinedBy: decision.userId,
        closedAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(eq(gdprRequests.id, id))
      .returning();
    const exports = await closeExportsOfRequest(tx, id);
    await audit(tx, [
      {
        actorUserId: decision.userId,
        action: 'gdpr_request.declined',
        objectType: 'gdpr_request',
        objectId: id,
        details: {
          customerId: row.customerId,
          reason: decision.reason,
          ...(exports.length > 0 ? { exportsDeleted: exports.length } : {}),
        },
      },
    ]);
    return updated!;
  });
}

/** Abandoned candidates skipped before a live (or finished) deletion job is found or given up on. */
const MAX_ABANDONED_CANDIDATES = 10;

/**
 * Picks the deletion job that erases a pending request's customer and links
 * the request to it, all under the request's row lock, so erase calls made at
 * once agree on one job: the job the request already follows while that
 * runs, else one already erasing (or that erased) the customer, else a new
 * job row with `newJob`'s ID and workflow ID (`created`: its workflow is the
 * caller's to start, once this has committed). A job whose workflow has
 * ended without settling it (`isAbandoned`) is never picked.
 */
export async function claimErasureJob(
  db: Queryable,
  id: string,
  userId: string,
  newJob: { id: string; workflowId: string },
  { isAbandoned = neverAbandoned }: { isAbandoned?: AbandonedCheck } = {},
): Promise<{ request: GdprRequestRow; job: JobRow; created: boolean }> {
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, id);
    if (!isPending(row)) throw closedError(row);
    assertRequestType(row, 'erasure');
    const linked = row.erasureJobId ? await findJob(tx, row.erasureJobId) : undefined;
    const exclude: string[] = [];
    if (linked && goesOn(linked.status)) {
      if (!(await isAbandoned(linked))) return { request: row, job: linked, created: false };
      exclude.push(linked.id);
    }
    let existing = await deletionJobOf(tx, row.customerId, exclude);
    while (existing && goesOn(existing.status) && (await isAbandoned(existing))) {
      exclude.push(existing.id);
      existing =
        exclude.length < MAX_ABANDONED_CANDIDATES
          ? await deletionJobOf(tx, row.customerId, exclude)
          : undefined;
    }
    if (existing) {
      const request = await linkErasureJob(tx, id, existing.id, userId);
      return { request, job: await getJob(tx, existing.id), created: false };
    }
    if (!(await findCustomer(tx, row.customerId))) throw notFound('Customer', row.customerId);
    const { job } = await createJob(tx, {
      ...newJob,
      type: 'delete',
      startedBy: userId,
      params: { entity: 'customer', id: row.customerId },
    });
    const request = await linkErasureJob(tx, id, job.id, userId);
    return { request, job, created: true };
  });
}

/**
 * The pending requests a deletion job's end concerns: those that follow it,
 * and those whose customer it erases (a request following another deletion
 * of the same customer, which lost the race to this one, completes by it).
 */
export async function requestsConcernedBy(db: Queryable, jobId: string): Promise<string[]> {
  const result = await db.execute<{ id: string }>(sql`
    select r.id from gdpr_requests r, jobs j
    where j.id = ${jobId}
      and r.type = 'erasure'
      and r.status in ('open', 'overdue')
      and (
        r.erasure_job_id = j.id
        or (j.type = 'delete' and j.params->>'entity' = 'customer'
            and j.params->>'id' = r.customer_id::text)
        or (j.type = 'bulk_delete' and j.params->>'entity' = 'customer'
            and r.customer_id in (select i.object_id from job_items i where i.job_id = j.id))
      )`);
  return result.rows.map((row) => row.id);
}

export async function linkErasureJob(
  db: Queryable,
  id: string,
  jobId: string,
  userId: string,
): Promise<GdprRequestRow> {
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, id);
    if (!isPending(row)) throw closedError(row);
    if (row.erasureJobId === jobId) return row;
    const [updated] = await tx
      .update(gdprRequests)
      .set({ erasureJobId: jobId, updatedAt: sql`now()` })
      .where(eq(gdprRequests.id, id))
      .returning();
    await audit(tx, [
      {
        actorUserId: userId,
        action: 'gdpr_request.erasure_started',
        objectType: 'gdpr_request',
        objectId: id,
        jobId,
        details: { customerId: row.customerId },
      },
    ]);
    return updated!;
  });
}

/**
 * Marks an open request overdue; false when it was not open (closed, or
 * already marked). Given the deadline the workflow reached, a request whose
 * clock is stopped or was moved past it meanwhile stays open.
 */
export async function markGdprRequestOverdue(
  db: Queryable,
  id: string,
  reachedDueAt?: Date,
): Promise<boolean> {
  const clockAgrees = reachedDueAt
    ? [
        sql`${gdprRequests.pausedAt} is null`,
        sql`${gdprRequests.dueAt} <= ${reachedDueAt.toISOString()}::timestamptz`,
      ]
    : [];
  const rows = await db
    .update(gdprRequests)
    .set({ status: 'overdue', updatedAt: sql`now()` })
    .where(and(eq(gdprRequests.id, id), eq(gdprRequests.status, 'open'), ...clockAgrees))
    .returning({ id: gdprRequests.id });
  if (rows.length > 0) {
    await audit(db, [
      {
        actorUserId: null,
        action: 'gdpr_request.overdue',
        objectType: 'gdpr_request',
        objectId: id,
      },
    ]);
  }
  return rows.length > 0;
}

/**
 * Part of a customer erasure, in its transaction: closes the open access
 * requests of these customers (and of customers merged into them) as
 * declined with the reason `customer_erased` — what they asked a copy of no
 * longer exists, and no archive of it may be made. Runs before the erasure
 * deletes the archives and the merge redirects. The requests' workflows are
 * told when the erasure job ends (activities/gdpr.ts). Returns their IDs.
 */
export async function closeAccessRequestsOf(
  tx: Queryable,
  customerIds: string[],
  actor: { userId: string | null; jobId: string | null },
): Promise<string[]> {
  if (customerIds.length === 0) return [];
  const closed = await tx.execute<{ id: string; customer_id: string }>(sql`
    update gdpr_requests r
    set status = 'declined', decline_reason = 'customer_erased', declined_by = ${actor.userId}::uuid,
        paused_at = null, pause_reason = null, closed_at = now(), updated_at = now()
    where r.type = 'access' and r.status in ('open', 'overdue')
      and (r.customer_id = any(${uuidArray(customerIds)})
        or r.customer_id in (select source_customer_id from merge_redirects
                             where target_customer_id = any(${uuidArray(customerIds)})))
    returning r.id, r.customer_id`);
  if (closed.rows.length > 0) {
    await audit(
      tx,
      closed.rows.map((row) => ({
        actorUserId: actor.userId,
        action: 'gdpr_request.declined',
        objectType: 'gdpr_request',
        objectId: row.id,
        jobId: actor.jobId,
        details: { customerId: row.customer_id, reason: 'customer_erased' },
      })),
    );
  }
  return closed.rows.map((row) => row.id);
}

/**
 * The access requests an erasure job closed (declined as `customer_erased`
 * for a customer it erased), whose workflows it tells when it ends.
 */
export async function accessRequestsClosedBy(db: Queryable, jobId: string): Promise<string[]> {
  // The job's own audit entries name them (audit_log_job_idx).
  const result = await db.execute<{ id: string }>(sql`
    select distinct a.object_id as id from audit_log a
    where a.job_id = ${jobId} and a.action = 'gdpr_request.declined'
      and a.object_type = 'gdpr_request' and a.details->>'reason' = 'customer_erased'`);
  return result.rows.map((row) => row.id);
}

/** The export jobs started for these requests (the job rows outlive their archives). */
export async function exportJobsOfRequests(db: Queryable, requestIds: string[]): Promise<string[]> {
  if (requestIds.length === 0) return [];
  const rows = await db.execute<{ id: string }>(sql`
    select id from jobs
    where type = 'export' and params->>'requestId' = any(${`{${requestIds.join(',')}}`}::text[])`);
  return rows.rows.map((row) => row.id);
}

/** Erases the free-text notes kept with requests about these customers (their data is gone). */
export async function forgetDeclineNotes(db: Queryable, customerIds: string[]): Promise<number> {
  if (customerIds.length === 0) return 0;
  const rows = await db
    .update(gdprRequests)
    .set({ declineNote: null, deliveryNote: null, updatedAt: sql`now()` })
    .where(
      and(
        sql`${gdprRequests.customerId} = any(${uuidArray(customerIds)})`,
        sql`(${gdprRequests.declineNote} is not null or ${gdprRequests.deliveryNote} is not null)`,
      ),
    )
    .returning({ id: gdprRequests.id });
  await db.execute(sql`
    update privacy_request_clock c set note = null
    from gdpr_requests r
    where c.request_id = r.id and c.note is not null
      and r.customer_id = any(${uuidArray(customerIds)})`);
  return rows.length;
}

/**
 * Completes a pending request from its finished erasure job: status,
 * completion time (`at`, the workflow's clock, which also decided the overdue
 * mark), and the record of each place the data was erased from with counts.
 * Safe to retry: a completed request is returned as it is.
 */
export async function completeGdprRequest(
  db: Queryable,
  id: string,
  jobId: string,
  at: Date,
): Promise<GdprRequestRow> {
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, id);
    if (!isPending(row)) return row;
    const progress = await erasureProgressOf(tx, jobId, row.customerId);
    if (progress.status !== 'completed') {
      throw new DomainError(
        'conflict',
        'ERASURE_NOT_COMPLETED',
        `Job ${jobId} has not erased customer ${row.customerId}.`,
      );
    }
    // The job that erased the customer: another deletion's when the one followed lost a race.
    const { places, jobId: erasedBy } = progress;
    const [updated] = await tx
      .update(gdprRequests)
      .set({
        status: 'completed',
        completedAt: at,
        closedAt: at,
        erasureJobId: erasedBy,
        completionRecord: {
          jobId: erasedBy,
          customerId: row.customerId,
          erasedAt: progress.erasedAt.toISOString(),
          places,
          identifierKindsChecked: progress.identifierKindsChecked,
          ...(await downstreamAtCompletion(tx, row.customerId)),
        },
        updatedAt: sql`now()`,
      })
      .where(eq(gdprRequests.id, id))
      .returning();
    await forgetDeclineNotes(tx, [row.customerId]);
    await audit(tx, [
      {
        actorUserId: null,
        action: 'gdpr_request.completed',
        objectType: 'gdpr_request',
        objectId: id,
        jobId: erasedBy,
        details: {
          customerId: row.customerId,
          onTime: completedOnTime(at, row.dueAt),
          places: places.length,
        },
      },
    ]);
    await announcePrivacyRequestCompleted(tx, updated!);
    return updated!;
  });
}
