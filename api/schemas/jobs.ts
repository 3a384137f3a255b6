import { Type } from 'typebox';
import { jobStatuses, jobTypes } from '../../db/schema';
import { Nullable, Timestamp, Uuid } from './common';

const Free = Type.Record(Type.String(), Type.Unknown());

export const Job = Type.Object({
  id: Uuid,
  type: Type.String({ description: jobTypes.join(' | ') }),
  status: Type.String({ description: jobStatuses.join(' | ') }),
  startedBy: Nullable(Uuid),
  params: Free,
  preview: Nullable(Free),
  progress: Type.Object({ total: Type.Integer(), done: Type.Integer(), failed: Type.Integer() }),
  result: Nullable(Free),
  error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  workflowId: Type.String(),
  temporalUiUrl: Type.String({ description: 'Where to watch the job in Temporal UI.' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  expiresAt: Nullable(Timestamp),
  completedAt: Nullable(Timestamp),
});

export const JobEnvelope = Type.Object({ job: Job });

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'The same key gives back the same job.',
    }),
  ),
});

export const JobIdParams = Type.Object({ jobId: Uuid });
