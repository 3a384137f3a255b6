/**
 * The API side of GDPR requests: their resource shape, and starting and
 * signalling the workflow that tracks each one.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { AuditRow, GdprRequestRow } from '../db/queries/gdpr';
import { daysLeft } from '../domain/gdpr';
import { WORKFLOW_NOT_FOUND, workflowEndOf } from '../lib/job-workflows';
import { temporalUiLink } from '../lib/temporal';
import { openErasureJobsOf, type AbandonedCheck } from '../operations/erasure-jobs';
import { latestDueAtFor, type ClockRow } from '../operations/privacy-clock';
import {
  erasureStartedSignal,
  gdprRequestDeclinedSignal,
  gdprWorkflowIds,
  privacyClockChangedSignal,
  privacyRequestDeliveredSignal,
  searchAttributes,
  type TrackGdprRequestInput,
} from '../workflows/contracts';
import { reconcileJobsNow } from './reconcile';

const WORKFLOW_TYPE = 'trackGdprRequestWorkflow';

export function gdprRequestView(app: FastifyInstance, row: GdprRequestRow, now = new Date()) {
  const settings = app.config.temporal;
  const workflowId = gdprWorkflowIds.request(row.id);
  const pending = row.status === 'open' || row.status === 'overdue';
  return {
    id: row.id,
    customerId: row.customerId,
    type: row.type,
    regulation: row.regulation,
    reference: row.reference,
    receivedAt: row.receivedAt.toISOString(),
    dueAt: row.dueAt.toISOString(),
    statutoryDueAt: (row.statutoryDueAt ?? row.dueAt).toISOString(),
    latestDueAt: latestDueAtFor(row, app.config.privacy.regulations[row.regulation]).toISOString(),
    pausedDays: row.pausedDays,
    paused: row.pausedAt
      ? { since: row.pausedAt.toISOString(), reason: row.pauseReason ?? 'awaiting_clarification' }
      : null,
    status: row.status,
    // A stopped clock's days left stay where they were when it stopped.
    daysLeft: pending ? daysLeft(row.dueAt, row.pausedAt ?? now) : null,
    erasureJobId: row.erasureJobId,
    completedAt: row.completedAt?.toISOString() ?? null,
    completionRecord: row.completionRecord,
    delivery: row.deliveryMethod
      ? {
          method: row.deliveryMethod,
          note: row.deliveryNote,
          deliveredBy: row.deliveredBy,
          deliveredAt: row.completedAt?.toISOString() ?? null,
        }
      : null,
    decline: row.declineReason
      ? { reason: row.declineReason, note: row.declineNote, declinedBy: row.declinedBy }
      : null,
    workflowId,
    temporalUiUrl: temporalUiLink(settings.uiUrl, settings.namespace, workflowId),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function clockEntryView(row: ClockRow) {
  return {
    kind: row.kind,
    reason: row.reason,
    note: row.note,
    at: row.at.toISOString(),
    dueAtBefore: row.dueAtBefore.toISOString(),
    dueAtAfter: row.dueAtAfter.toISOString(),
    pausedDays: row.pausedDays,
    actorUserId: row.actorUserId,
  };
}

export function auditEntryView(row: AuditRow) {
  return {
    at: row.at.toISOString(),
    action: row.action,
    actorUserId: row.actorUserId,
    objectType: row.objectType,
    objectId: row.objectId,
    jobId: row.jobId,
    details: row.details,
  };
}

function startOptions(app: FastifyInstance, row: GdprRequestRow, userId: string) {
  const input: TrackGdprRequestInput = {
    requestId: row.id,
    dueAt: row.dueAt.toISOString(),
    reminderDays: app.config.gdpr.reminderDays,
    ...(row.pausedAt ? { paused: true } : {}),
  };
  return {
    taskQueue: app.config.temporal.taskQueue,
    workflowId: gdprWorkflowIds.request(row.id),
    args: [input] as [TrackGdprRequestInput],
    staticSummary:
      row.type === 'erasure' && row.regulation === 'gdpr'
        ? `GDPR erasure request ${row.id} for customer ${row.customerId}, due ${input.dueAt}`
        : `${row.regulation.toUpperCase()} ${row.type} request ${row.id} for customer ${row.customerId}, due ${input.dueAt}`,
    typedSearchAttributes: [
      { key: searchAttributes.jobType, value: 'gdpr_request' },
      { key: searchAttributes.customerIds, value: [row.customerId] },
      { key: searchAttributes.startedBy, value: userId },
      { key: searchAttributes.gdprDueAt, value: row.dueAt },
      { key: searchAttributes.gdprStatus, value: row.status },
      { key: searchAttributes.privacyType, value: row.type },
      { key: searchAttributes.privacyRegulation, value: row.regulation },
    ],
  };
}

export async function startGdprWorkflow(
  app: FastifyInstance,
  row: GdprRequestRow,
  userId: string,
): Promise<void> {
  await app.temporal.workflow.start(WORKFLOW_TYPE, startOptions(app, row, userId));
}

/** Starts a request's workflow unless it is already running. */
export async function ensureGdprWorkflow(
  app: FastifyInstance,
  row: GdprRequestRow,
  userId: string,
): Promise<void> {
  try {
    await startGdprWorkflow(app, row, userId);
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

/**
 * Signals a request's workflow, starting it first should it be missing (a
 * crash between recording the request and starting its workflow).
 */
export async function signalGdprWorkflow(
  app: FastifyInstance,
  row: GdprRequestRow,
  userId: string,
  signal:
    | { name: 'erasureStarted'; jobId: string }
    | { name: 'gdprRequestDeclined' }
    | { name: 'privacyRequestDelivered' }
    | { name: 'privacyClockChanged'; seq: number },
): Promise<void> {
  const options = startOptions(app, row, userId);
  if (signal.name === 'erasureStarted') {
    await app.temporal.workflow.signalWithStart(WORKFLOW_TYPE, {
      ...options,
      signal: erasureStartedSignal,
      signalArgs: [{ jobId: signal.jobId }],
    });
  } else if (signal.name === 'privacyClockChanged') {
    await app.temporal.workflow.signalWithStart(WORKFLOW_TYPE, {
      ...options,
      signal: privacyClockChangedSignal,
      signalArgs: [
        { dueAt: row.dueAt.toISOString(), paused: row.pausedAt !== null, seq: signal.seq },
      ],
    });
  } else if (signal.name === 'privacyRequestDelivered') {
    await app.temporal.workflow.signalWithStart(WORKFLOW_TYPE, {
      ...options,
      signal: privacyRequestDeliveredSignal,
      signalArgs: [],
    });
  } else {
    await app.temporal.workflow.signalWithStart(WORKFLOW_TYPE, {
      ...options,
      signal: gdprRequestDeclinedSignal,
      signalArgs: [],
    });
  }
}

/**
 * Asks Temporal, before the request's lock is taken, which of the open
 * deletion jobs a request could be left to have lost their workflow
 * (terminated, timed out… — `isAbandoned`, for the GDPR operations to skip
 * them), and then hands those to the reconciler (`settleFound`), which
 * settles them, tells their starters and frees the requests following them
 * at once rather than at its next scheduled run. A workflow not found counts
 * only once the job's row is older than JOB_RECONCILE_GRACE: an erasure
 * job's row is linked a moment before its workflow starts. A job created
 * after this look is new, so alive.
 */
export async function abandonedJobsOf(
  app: FastifyInstance,
  requestId: string,
): Promise<{ isAbandoned: AbandonedCheck; settleFound(): Promise<void> }> {
  const found = new Set<string>();
  const now = Date.now();
  for (const job of await openErasureJobsOf(app.db, requestId)) {
    const code = await workflowEndOf(app.temporal, job.workflowId);
    if (!code) continue;
    const young = now - job.createdAt.getTime() < app.config.reconcile.graceMs;
    if (code === WORKFLOW_NOT_FOUND && young) continue;
    found.add(job.id);
  }
  return {
    isAbandoned: async (job) => found.has(job.id),
    settleFound: () => reconcileJobsNow(app, found),
  };
}
