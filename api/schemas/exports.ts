import { Type } from 'typebox';
import { exportArchiveStatuses } from '../../db/schema';
import { Nullable, OneOf, Timestamp, Uuid } from './common';
import { Job } from './jobs';

export const ExportArchive = Type.Object({
  id: Uuid,
  customerId: Uuid,
  requestId: Nullable(Uuid),
  jobId: Uuid,
  status: OneOf(exportArchiveStatuses),
  counts: Type.Record(Type.String(), Type.Integer(), {
    description: 'Records per kind (profile, messages, events…), as in the manifest.',
  }),
  size: Nullable(Type.Integer({ description: 'Bytes of the ZIP archive once it is ready.' })),
  sha256: Nullable(Type.String()),
  createdAt: Timestamp,
  readyAt: Nullable(Timestamp),
  expiresAt: Timestamp,
  downloadUrl: Type.String(),
});

export const ExportEnvelope = Type.Object({ job: Job, export: ExportArchive });

export const StartExportBody = Type.Object(
  {
    /** The privacy request it answers; about the same customer. */
    requestId: Type.Optional(Nullable(Uuid)),
  },
  { additionalProperties: false },
);
