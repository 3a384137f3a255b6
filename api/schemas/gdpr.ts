import { Type } from 'typebox';
import { gdprDeclineReasons, gdprRequestStatuses } from '../../db/schema';
import { Nullable, OneOf, Timestamp, Uuid } from './common';
import { Job } from './jobs';

export const GdprRequest = Type.Object({
  id: Uuid,
  customerId: Uuid,
  reference: Nullable(Type.String()),
  receivedAt: Timestamp,
  dueAt: Timestamp,
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
    }),
  ),
  decline: Nullable(
    Type.Object({
      reason: Type.String({ description: gdprDeclineReasons.join(' | ') }),
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

export const GdprRequestDetail = Type.Intersect([
  GdprRequest,
  Type.Object({ job: Nullable(Job), auditTrail: Type.Array(AuditEntry) }),
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
