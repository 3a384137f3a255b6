/**
 * A privacy request's clock: extending its deadline within the regulation's
 * maximum, stopping it while the controller waits for the requester and
 * restarting it with the days it stood still added, and closing an access
 * request by recording how its copy was delivered. Each step takes the
 * request's row lock first, so steps sent at once are applied one after the
 * other against the state the previous one left: one pause wins, the others
 * find the clock stopped.
 */
import { asc, eq, sql } from 'drizzle-orm';
import type { Queryable } from '../db/client';
import { audit } from '../db/queries/audit';
import type { GdprRequestRow } from '../db/queries/gdpr';
import {
  gdprRequests,
  privacyRequestClock,
  type privacyDeliveryMethods,
  type privacyPauseReasons,
} from '../db/schema';
import { latestDueAtOf, pausedDaysBetween } from '../domain/gdpr';
import type { RegulationClock } from '../lib/config';
import { DomainError } from '../lib/errors';
import { assertReadyExportOf, closeExportsOfRequest } from './exports';
import { isPending } from '../domain/gdpr';
import { assertRequestType, closedError, lockRequest } from './gdpr-requests';
import { announcePrivacyRequestCompleted } from './privacy-request-events';

export type PauseReason = (typeof privacyPauseReasons)[number];
export type DeliveryMethod = (typeof privacyDeliveryMethods)[number];
export type ClockRow = typeof privacyRequestClock.$inferSelect;

/** What the step did: the request as it is now, and the clock entry it wrote. */
export interface ClockStep {
  request: GdprRequestRow;
  entry: ClockRow;
}

/** A clock moves only while the request is open: an overdue request missed its deadline. */
function assertClockMovable(row: GdprRequestRow): void {
  if (!isPending(row)) throw closedError(row);
  if (row.status === 'overdue') {
    throw new DomainError(
      'conflict',
      'REQUEST_OVERDUE',
      'The request passed its deadline; its clock can no longer be extended or stopped.',
      { gdprRequestId: row.id, dueAt: row.dueAt.toISOString() },
    );
  }
}

/** The latest deadline extensions may give this request under its regulation. */
export function latestDueAtFor(row: GdprRequestRow, clock: RegulationClock): Date {
  return latestDueAtOf(row.statutoryDueAt ?? row.dueAt, clock.maxExtensionDays, row.pausedDays);
}

async function step(
  tx: Queryable,
  row: GdprRequestRow,
  changes: Partial<typeof gdprRequests.$inferInsert>,
  entry: Omit<typeof privacyRequestClock.$inferInsert, 'requestId'>,
): Promise<ClockStep> {
  const [request] = await tx
    .update(gdprRequests)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(eq(gdprRequests.id, row.id))
    .returning();
  const [written] = await tx
    .insert(privacyRequestClock)
    .values({ ...entry, requestId: row.id })
    .returning();
  await audit(tx, [
    {
      actorUserId: entry.actorUserId ?? null,
      action: `gdpr_request.${entry.kind === 'extend' ? 'extended' : entry.kind === 'pause' ? 'paused' : 'resumed'}`,
      objectType: 'gdpr_request',
      objectId: row.id,
      details: {
        customerId: row.customerId,
        dueAtBefore: entry.dueAtBefore.toISOString(),
        dueAtAfter: entry.dueAtAfter.toISOString(),
        // A pause's reason is a code; an extension's is free text and stays out of the audit log.
        ...(entry.kind === 'pause' ? { reason: entry.reason } : {}),
        ...(entry.kind === 'resume' ? { pausedDays: entry.pausedDays ?? 0 } : {}),
      },
    },
  ]);
  return { request: request!, entry: written! };
}

/**
 * Moves the deadline to `dueAt`: later than the current one (422
 * EXTENSION_NOT_LATER) and no later than the statutory deadline + the
 * regulation's maximum extension + the days paused (422
 * EXTENSION_BEYOND_LIMIT with `latestDueAt`). Allowed while the clock is
 * stopped: the restart then adds the paused days to the extended date.
 */
export async function extendRequest(
  db: Queryable,
  id: string,
  change: { reason: string; dueAt: Date; userId: string; now: Date },
  clockOf: (row: GdprRequestRow) => RegulationClock,
): Promise<ClockStep> {
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, id);
    assertClockMovable(row);
    if (change.dueAt.getTime() <= row.dueAt.getTime()) {
      throw new DomainError(
        'unprocessable',
        'EXTENSION_NOT_LATER',
        `The new deadline must be later than the current one (${row.dueAt.toISOString()}).`,
        { gdprRequestId: id, dueAt: row.dueAt.toISOString() },
      );
    }
    const clock = clockOf(row);
    const latest = latestDueAtFor(row, clock);
    if (change.dueAt.getTime() > latest.getTime()) {
      throw new DomainError(
        'unprocessable',
        'EXTENSION_BEYOND_LIMIT',
        `Under ${row.regulation} a deadline may be extended by at most ${clock.maxExtensionDays} days ` +
          `(plus ${row.pausedDays} paused), to ${latest.toISOString()} at the latest.`,
        {
          gdprRequestId: id,
          regulation: row.regulation,
          maxExtensionDays: clock.maxExtensionDays,
          pausedDays: row.pausedDays,
          latestDueAt: latest.toISOString(),
        },
      );
    }
    return step(
      tx,
      row,
      { dueAt: change.dueAt },
      {
        kind: 'extend',
        reason: change.reason,
        at: change.now,
        dueAtBefore: row.dueAt,
        dueAtAfter: change.dueAt,
        actorUserId: change.userId,
      },
    );
  });
}

/** Stops the clock (409 CLOCK_ALREADY_PAUSED when it is stopped). */
export async function pauseRequest(
  db: Queryable,
  id: string,
  change: { reason: PauseReason; note: string | null; userId: string; now: Date },
): Promise<ClockStep> {
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, id);
    assertClockMovable(row);
    if (row.pausedAt) {
      throw new DomainError(
        'conflict',
        'CLOCK_ALREADY_PAUSED',
        `The clock has been stopped since ${row.pausedAt.toISOString()} (${row.pauseReason}).`,
        { gdprRequestId: id, pausedAt: row.pausedAt.toISOString(), pauseReason: row.pauseReason },
      );
    }
    return step(
      tx,
      row,
      { pausedAt: change.now, pauseReason: change.reason },
      {
        kind: 'pause',
        reason: change.reason,
        note: change.note,
        at: change.now,
        dueAtBefore: row.dueAt,
        dueAtAfter: row.dueAt,
        actorUserId: change.userId,
      },
    );
  });
}

/**
 * Restarts a stopped clock: the deadline moves by the whole days it stood
 * still, rounded up (409 CLOCK_NOT_PAUSED when it runs).
 */
export async function resumeRequest(
  db: Queryable,
  id: string,
  change: { note: string | null; userId: string; now: Date },
): Promise<ClockStep> {
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, id);
    if (!isPending(row)) throw closedError(row);
    if (!row.pausedAt) {
      throw new DomainError('conflict', 'CLOCK_NOT_PAUSED', 'The clock is running.', {
        gdprRequestId: id,
      });
    }
    const days = pausedDaysBetween(row.pausedAt, change.now);
    const dueAt = new Date(row.dueAt.getTime() + days * 86_400_000);
    return step(
      tx,
      row,
      { pausedAt: null, pauseReason: null, pausedDays: row.pausedDays + days, dueAt },
      {
        kind: 'resume',
        reason: row.pauseReason ?? 'resumed',
        note: change.note,
        at: change.now,
        dueAtBefore: row.dueAt,
        dueAtAfter: dueAt,
        pausedDays: days,
        actorUserId: change.userId,
      },
    );
  });
}

/**
 * Completes an access request: records how and when its copy reached the
 * person (409 WRONG_REQUEST_TYPE for an erasure request, REQUEST_CLOSED once
 * closed, EXPORT_REQUIRED without an export ready to download). Allowed while
 * the clock is stopped or overdue: delivering late is still delivering. The
 * request's archives are deleted in the same transaction: once the person has
 * their copy, Custodian keeps none.
 */
export async function deliverRequest(
  db: Queryable,
  id: string,
  delivery: { method: DeliveryMethod; note: string | null; userId: string; now: Date },
): Promise<GdprRequestRow> {
  return db.transaction(async (tx) => {
    const row = await lockRequest(tx, id);
    if (!isPending(row)) throw closedError(row);
    assertRequestType(row, 'access');
    await assertReadyExportOf(tx, id);
    const [updated] = await tx
      .update(gdprRequests)
      .set({
        status: 'completed',
        completedAt: delivery.now,
        closedAt: delivery.now,
        pausedAt: null,
        pauseReason: null,
        deliveryMethod: delivery.method,
        deliveryNote: delivery.note,
        deliveredBy: delivery.userId,
        updatedAt: sql`now()`,
      })
      .where(eq(gdprRequests.id, id))
      .returning();
    const exports = await closeExportsOfRequest(tx, id);
    await audit(tx, [
      {
        actorUserId: delivery.userId,
        action: 'gdpr_request.delivered',
        objectType: 'gdpr_request',
        objectId: id,
        details: {
          customerId: row.customerId,
          method: delivery.method,
          onTime: delivery.now.getTime() <= row.dueAt.getTime(),
          exportsDeleted: exports.length,
        },
      },
    ]);
    await announcePrivacyRequestCompleted(tx, updated!);
    return updated!;
  });
}

/** The request's clock history, oldest first. */
export async function clockHistoryOf(db: Queryable, id: string): Promise<ClockRow[]> {
  return db
    .select()
    .from(privacyRequestClock)
    .where(eq(privacyRequestClock.requestId, id))
    .orderBy(asc(privacyRequestClock.id));
}
