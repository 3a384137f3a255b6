import { Type } from 'typebox';
import {
  gdprDeclineReasons,
  gdprRequestStatuses,
  privacyClockKinds,
  privacyDeliveryMethods,
  privacyPauseReasons,
  privacyRegulations,
  privacyRequestTypes,
  systemDeclineReasons,
} from '../../db/schema';
import { Nullable, OneOf, Timestamp, Uuid } from './common';
import { Job } from './jobs';
import { ErasureReceipts } from './webhooks';

export const GdprRequest = Type.Object({
  id: Uuid,
  customerId: Uuid,
  type: Type.String({ description: privacyRequestTypes.join(' | ') }),
  regulation: Type.String({ description: privacyRegulations.join(' | ') }),
  reference: Nullable(Type.String()),
  receivedAt: Timestamp,
  dueAt: Timestamp,
  statutoryDueAt: Type.String({
    format: 'date-time',
    description:
      "The deadline the regulation's statutory period gave when the request was received.",
  }),
  latestDueAt: Type.String({
    format: 'date-time',
    description:
      'The latest deadline an extension may set: statutoryDueAt + the maximum extension + pausedDays.',
  }),
  pausedDays: Type.Integer({ description: 'Whole days the clock has stood still so far.' }),
  paused: Nullable(
    Type.Object({
      since: Timestamp,
      reason: Type.String({ description: privacyPauseReasons.join(' | ') }),
    }),
  ),
  status: Type.String({ description: gdprRequestStatuses.join(' | ') }),
  daysLeft: Nullable(
    Type.Integer({
      description: 'Whole days to the deadline, negative once overdue; null when closed.',
    }),
  ),
  erasureJobId: Nullable(Uuid),
  completedAt: Nullable(Timestamp),
  completionRecord: Nullable(
    Type.Object({
      jobId: Uuid,
      customerId: Uuid,
      erasedAt: Timestamp,
      places: Type.Array(Type.Object({ place: Type.String(), count: Type.Integer() })),
      identifierKindsChecked: Type.Optional(
        Type.Array(Type.String(), {
          description:
            'The kinds of identifier (email, phone, social, website, externalId, name) saved searches were checked for.',
        }),
      ),
      downstream: Type.Optional(ErasureReceipts),
    }),
  ),
  delivery: Nullable(
    Type.Object({
      method: Type.String({ description: privacyDeliveryMethods.join(' | ') }),
      note: Nullable(Type.String()),
      deliveredBy: Nullable(Uuid),
      deliveredAt: Nullable(Timestamp),
    }),
  ),
  decline: Nullable(
    Type.Object({
      reason: Type.String({
        description:
          [...gdprDeclineReasons, ...systemDeclineReasons].join(' | ') +
          ' (`customer_erased`: an access request closed by an erasure of its customer)',
      }),
      note: Nullable(
        Type.String({ description: 'Erased together with the customer, should that happen.' }),
      ),
      declinedBy: Nullable(Uuid),
    }),
  ),
  workflowId: Type.String(),
  temporalUiUrl: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const CreatedGdprRequest = Type.Intersect([
  GdprRequest,
  Type.Object({
    resolvedFrom: Nullable(
      Type.String({
        description: 'The merged-away customer ID that was given; `customerId` is the survivor.',
      }),
    ),
  }),
]);

export const AuditEntry = Type.Object({
  at: Timestamp,
  action: Type.String(),
  actorUserId: Nullable(Uuid),
  objectType: Type.String(),
  objectId: Uuid,
  jobId: Nullable(Uuid),
  details: Type.Record(Type.String(), Type.Unknown()),
});

/** One move of a request's clock: when, why, and the deadline before and after. */
export const ClockEntry = Type.Object({
  kind: Type.String({ description: privacyClockKinds.join(' | ') }),
  reason: Type.String({
    description: "An extension's reason, a pause's code (a resume repeats its pause's code).",
  }),
  note: Nullable(Type.String()),
  at: Timestamp,
  dueAtBefore: Timestamp,
  dueAtAfter: Timestamp,
  pausedDays: Type.Integer({ description: 'Days a resume added; 0 for other kinds.' }),
  actorUserId: Nullable(Uuid),
});

export const GdprRequestDetail = Type.Intersect([
  GdprRequest,
  Type.Object({
    job: Nullable(Job),
    clock: Type.Array(ClockEntry, {
      description: 'Every extension, pause and resume, oldest first.',
    }),
    auditTrail: Type.Array(AuditEntry),
    // An erasure request's receipts as they stand now, per subscribed system; null for an access request.
    downstream: Nullable(ErasureReceipts),
  }),
]);

export const GdprReport = Type.Object({
  from: Timestamp,
  to: Timestamp,
  received: Type.Integer(),
  completedOnTime: Type.Integer(),
  completedLate: Type.Integer(),
  declined: Type.Integer(),
  open: Type.Integer(),
  overdue: Type.Integer(),
  medianDaysToCompletion: Nullable(Type.Number()),
});

export const GdprStatus = OneOf(gdprRequestStatuses);
export const GdprDeclineReason = OneOf(gdprDeclineReasons);
export const PrivacyRequestType = OneOf(privacyRequestTypes);
export const PrivacyRegulation = OneOf(privacyRegulations);
export const PrivacyPauseReason = OneOf(privacyPauseReasons);
export const PrivacyDeliveryMethod = OneOf(privacyDeliveryMethods);
