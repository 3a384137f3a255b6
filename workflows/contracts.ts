/**
 * The wire contract between the API, the worker and Temporal: workflow IDs,
 * search attributes, inputs and results. The string names here are stored in
 * Temporal's history and visibility; do not rename them casually.
 *
 * Everything that crosses this boundary carries IDs, counts and statuses only:
 * Temporal keeps history beyond an erasure, Postgres does not.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const searchAttributes = {
  jobType: defineSearchAttributeKey('CustodianJobType', SearchAttributeType.KEYWORD),
  jobId: defineSearchAttributeKey('CustodianJobId', SearchAttributeType.KEYWORD),
  jobStatus: defineSearchAttributeKey('CustodianJobStatus', SearchAttributeType.KEYWORD),
  customerIds: defineSearchAttributeKey('CustodianCustomerIds', SearchAttributeType.KEYWORD_LIST),
  startedBy: defineSearchAttributeKey('CustodianStartedBy', SearchAttributeType.KEYWORD),
  gdprDueAt: defineSearchAttributeKey('CustodianGdprDueAt', SearchAttributeType.DATETIME),
  gdprStatus: defineSearchAttributeKey('CustodianGdprStatus', SearchAttributeType.KEYWORD),
  /** A privacy request's type (erasure | access) and regulation (gdpr | uk_gdpr | ccpa). */
  privacyType: defineSearchAttributeKey('CustodianPrivacyType', SearchAttributeType.KEYWORD),
  privacyRegulation: defineSearchAttributeKey(
    'CustodianPrivacyRegulation',
    SearchAttributeType.KEYWORD,
  ),
  itemsTotal: defineSearchAttributeKey('CustodianItemsTotal', SearchAttributeType.INT),
  itemsDone: defineSearchAttributeKey('CustodianItemsDone', SearchAttributeType.INT),
  itemsFailed: defineSearchAttributeKey('CustodianItemsFailed', SearchAttributeType.INT),
} as const;

/**
 * Temporal refuses a keyword-list value over 2 KB (about 50 UUIDs): a job
 * naming more customers lists them in parts, one `jobCustomersWorkflow` each.
 */
export const MAX_SEARCHABLE_CUSTOMERS = 40;

/** One part of the customers a job touches, listed in Temporal UI beside the job's own workflow. */
export interface JobCustomersInput {
  jobId: string;
  part: number;
  parts: number;
}

export const jobCustomersWorkflowId = (jobWorkflowId: string, part: number) =>
  `${jobWorkflowId}-customers-${part}`;

export const workflowIds = {
  timelineCount: (requestId: string) => `timeline-count-${requestId}`,
} as const;

export interface CountTimelineInput {
  customerId: string;
}

export interface TimelineCounts {
  conversations: number;
  kobjects: number;
  total: number;
}

export type CountTimelineResult =
  | { status: 'completed'; counts: TimelineCounts }
  | { status: 'rejected'; code: 'CUSTOMER_NOT_FOUND' };

// ---------------------------------------------------------------------------
// Jobs: every job type's workflow type name and workflow ID.

export const jobWorkflows = {
  merge: { workflowType: 'mergeCustomersWorkflow', idPrefix: 'merge' },
  split: { workflowType: 'splitTimelineWorkflow', idPrefix: 'split' },
  kobject_move: { workflowType: 'moveKObjectsWorkflow', idPrefix: 'kobject-move' },
  delete: { workflowType: 'deleteObjectWorkflow', idPrefix: 'delete' },
  bulk_delete: { workflowType: 'bulkDeleteWorkflow', idPrefix: 'bulk-delete' },
  attribute_clear: { workflowType: 'clearAttributeWorkflow', idPrefix: 'attribute-clear' },
  export: { workflowType: 'exportCustomerWorkflow', idPrefix: 'export' },
  unmerge: { workflowType: 'undoMergeWorkflow', idPrefix: 'unmerge' },
} as const;

export type WorkflowJobType = keyof typeof jobWorkflows;
/** Jobs that are previewed, then confirmed, cancelled or left to expire. */
export type ConfirmableJobType = 'merge' | 'split' | 'kobject_move' | 'unmerge';

/** `merge-<jobId>`, `split-<jobId>`, …: readable in Temporal UI and derived from the job alone. */
export const jobWorkflowId = (type: WorkflowJobType, jobId: string) =>
  `${jobWorkflows[type].idPrefix}-${jobId}`;

/** What every job workflow is started with. */
export interface JobInput {
  jobId: string;
  /**
   * How long the API waits for the job before it answers 202 (JOB_REPLY_WAIT):
   * a job that ends later is news to its starter. Absent in older histories.
   */
  replyWaitMs?: number;
}

export interface ConfirmableJobInput extends JobInput {
  type: ConfirmableJobType;
  /** How long the preview waits for a confirmation before the job expires. */
  confirmTtlMs: number;
}

export interface ConfirmJobArgs {
  confirmedBy: string;
}

/** A refusal as it crosses a workflow: its code and the kind that gives its HTTP status. */
export interface JobRefusal {
  code: string;
  message: string;
  kind?: string | undefined;
}

/** What a finished job reports: IDs, counts and a status, never personal data. */
export type JobOutcome =
  | { status: 'completed'; counts: Record<string, number>; indexPending?: boolean }
  | { status: 'rejected' | 'failed'; code: string }
  | { status: 'expired' | 'cancelled' };

export const confirmJobUpdate = defineUpdate<JobOutcome, [ConfirmJobArgs]>('confirmJob');
export const cancelJobSignal = defineSignal('cancelJob');

// ---------------------------------------------------------------------------
// Notices: what a workflow asks the notification machinery to tell people.
// IDs, kinds, counts, statuses and dates only; the activity reads the rest
// (job type and counts, the request's reference and due date) from Postgres.

export type Notice =
  /** A job ended (completed, failed, cancelled…); its starter is told as their settings say. */
  | {
      kind: 'job_finished';
      jobId: string;
      status: string;
      /**
       * Told only if the request that waited for the job has not told it
       * (`claimOutcomeTelling`): set for outcomes a reply may have answered.
       */
      unlessReplied?: boolean;
    }
  /** A GDPR request's deadline is `daysBefore` days away; every gdpr.manage user is told. */
  | { kind: 'gdpr_reminder'; gdprRequestId: string; daysBefore: number }
  /** A GDPR request passed its deadline while still open. */
  | { kind: 'gdpr_overdue'; gdprRequestId: string }
  /** The erasure job of a GDPR request failed; the request stays open. */
  | { kind: 'gdpr_erasure_failed'; gdprRequestId: string; jobId: string };

export type NoticeKind = Notice['kind'];

/** What one notice did: how many in-app rows and emails it delivered now (0 when a retry found them done). */
export interface NoticeResult {
  recipients: number;
  inApp: number;
  emails: number;
}

// ---------------------------------------------------------------------------
// GDPR erasure requests: one workflow per request, alive until it is closed.

export const gdprWorkflowIds = {
  request: (requestId: string) => `gdpr-request-${requestId}`,
} as const;

export interface TrackGdprRequestInput {
  requestId: string;
  /** ISO time of the deadline. */
  dueAt: string;
  /** Days before the deadline at which to remind, largest first. */
  reminderDays: number[];
  /** The clock is stopped (a workflow started again for a paused request). Absent in older histories. */
  paused?: boolean;
}

/**
 * A request's clock moved in Postgres (extended, stopped, restarted): the
 * deadline it has now and whether it stands still. The workflow re-arms its
 * reminder and overdue timers on it; while paused none fires.
 */
export interface PrivacyClock {
  /** ISO time of the deadline. */
  dueAt: string;
  paused: boolean;
  /**
   * The clock entry's number: increasing per request in commit order (taken
   * under the request's row lock). Signals sent at once may arrive in another
   * order; the workflow keeps the latest.
   */
  seq: number;
}

export const privacyClockChangedSignal = defineSignal<[PrivacyClock]>('privacyClockChanged');
/** An access request's copy was delivered (recorded in Postgres); the workflow ends. */
export const privacyRequestDeliveredSignal = defineSignal('privacyRequestDelivered');

export type GdprRequestState = 'open' | 'overdue' | 'completed' | 'declined';

export interface GdprRequestOutcome {
  status: 'completed' | 'declined';
  /** Whether it was closed by its deadline. */
  onTime: boolean;
}

/** How an erasure job ended, as the request's workflow learns it. */
export type ErasureOutcome = { status: 'completed' } | { status: 'failed'; code: string };

/** The API linked an erasure job to the request; the workflow follows it to its end. */
export const erasureStartedSignal = defineSignal<[{ jobId: string }]>('erasureStarted');
/** The API declined the request (already recorded in Postgres); the workflow ends. */
export const gdprRequestDeclinedSignal = defineSignal('gdprRequestDeclined');
export const gdprRequestStatusQuery = defineQuery<GdprRequestState>('gdprRequestStatus');

/** How an erasure job ended, as the job (or the reconciler that settled it) tells each request it concerns. */
export interface ErasureEnded {
  jobId: string;
  /** The job's final status (completed, failed, cancelled…). */
  status: string;
  /** The job's error code, when it has one. */
  code?: string;
}

/**
 * An erasure job the request follows, or one that erases its customer, has
 * reached a final state. The request's workflow checks where that leaves the
 * request instead of polling the job.
 */
export const erasureEndedSignal = defineSignal<[ErasureEnded]>('erasureEnded');

// ---------------------------------------------------------------------------
// The reconciler: settles jobs whose workflow ended without settling them
// (terminated, timed out, reset away, or never started), run by a Temporal Schedule.

export const reconcileSchedule = {
  scheduleId: 'custodian-reconcile-jobs',
  workflowType: 'reconcileJobsWorkflow',
} as const;

export interface ReconcileJobsInput {
  /** Only these jobs (e.g. from the API, or an admin in Temporal UI); every open job when absent. */
  jobIds?: string[];
}

/** A job the reconciler found without a live workflow, and the stable code it is settled with. */
export interface AbandonedJob {
  jobId: string;
  code: string;
}

export interface ReconcileJobsResult {
  /** Open jobs whose workflow was looked at. */
  checked: number;
  /** Jobs settled by this run, with their final status and code. */
  settled: { jobId: string; status: string; code: string }[];
}
/** A single deletion: what to delete is in the job's row. */
export type DeleteJobInput = JobInput;

export interface BulkDeleteInput extends JobInput {
  /**
   * How long the previewed selection waits for a confirmation before the job
   * expires. Absent in histories recorded before bulk erasures were previewed.
   */
  confirmTtlMs?: number;
  /** Carried through continue-as-new: the selection is fixed and the job is running. */
  selected?: boolean;
  /** Carried through continue-as-new: a cancel arrived and the job stops before its next batch. */
  cancelled?: boolean;
}

/** A bulk job stops after its current batch; what was deleted stays deleted. */
export const cancelBulkJobSignal = defineSignal('cancelBulkJob');

/** The typed confirmation of a bulk erasure: who confirms, and the count they were shown. */
export interface ConfirmBulkDeleteArgs {
  confirmedBy: string;
  count: number;
}

/**
 * Confirms a previewed bulk erasure. Answered once the job is running (not
 * when it ends: a bulk job may run for hours, and an open update would hold
 * its continue-as-new); refused unless the job awaits confirmation and the
 * count is the previewed one.
 */
export const confirmBulkDeleteUpdate = defineUpdate<{ status: 'running' }, [ConfirmBulkDeleteArgs]>(
  'confirmBulkDelete',
);

// ---------------------------------------------------------------------------
// Clearing a removed attribute definition's values: what to clear is in the
// job's row (the entity, the definition and the attribute's name), never a value.

export interface ClearAttributeInput extends JobInput {
  /** Carried through continue-as-new: the job is running. */
  started?: boolean;
  /** Carried through continue-as-new: the last row cleared, where the next batch starts. */
  after?: string | null;
  /** Carried through continue-as-new: how far the search outbox must drain for what was cleared. */
  outboxUpTo?: number;
  /** Rows per batch and batches per run; the defaults suit production, tests make them small. */
  batchSize?: number;
  batchesPerRun?: number;
}

// ---------------------------------------------------------------------------
// Customer exports (access requests): what to export is in the job's row and
// its archive's row; the workflow carries their IDs, the expiry and counts.

export interface ExportCustomerInput extends JobInput {
  /** Rows per keyset page while building; the default suits production, tests make it small. */
  pageSize?: number;
}

/**
 * The export's privacy request closed (delivered or declined): its archive
 * was deleted in the close's transaction, and the workflow ends now instead
 * of waiting for the expiry.
 */
export const exportRequestClosedSignal = defineSignal('exportRequestClosed');
