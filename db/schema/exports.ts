import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz } from './columns';
import { jobs } from './jobs';

export const exportArchiveStatuses = ['building', 'ready', 'failed', 'expired'] as const;
export const exportArchiveStatus = pgEnum('export_archive_status', exportArchiveStatuses);

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * An access request's export of one customer: personal data with an expiry.
 * The archive's bytes live in `export_archive_chunks` only, so an erasure (or
 * the expiry) reaches them with one delete. No foreign key to the customer:
 * the erasure deletes its archives explicitly and counts them as a place.
 */
export const exportArchives = pgTable(
  'export_archives',
  {
    id: id(),
    customerId: uuid('customer_id').notNull(),
    /** The privacy request it answers; not a foreign key, as requests outlive customers. */
    requestId: uuid('request_id'),
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    status: exportArchiveStatus('status').notNull().default('building'),
    /** Records per kind (profile, messages, events…): counts only. */
    counts: jsonb('counts').$type<Record<string, number>>().notNull().default({}),
    size: bigint('size', { mode: 'number' }),
    sha256: text('sha256'),
    createdAt: createdAt(),
    readyAt: timestamptz('ready_at'),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (t) => [
    uniqueIndex('export_archives_job_idx').on(t.jobId),
    index('export_archives_customer_idx').on(t.customerId),
    index('export_archives_request_idx')
      .on(t.requestId)
      .where(sql`${t.requestId} is not null`),
  ],
);

/** The archive's bytes in order, about 1 MiB each. */
export const exportArchiveChunks = pgTable(
  'export_archive_chunks',
  {
    archiveId: uuid('archive_id')
      .notNull()
      .references(() => exportArchives.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.archiveId, t.seq] })],
);
