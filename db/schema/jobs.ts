import { desc } from 'drizzle-orm';
import {
  index,
  integer,
  primaryKey,
  jsonb,
  pgEnum,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz, updatedAt } from './columns';
import { customers } from './customers';
import { users } from './users';

export const jobTypes = [
  'merge',
  'split',
  'kobject_move',
  'delete',
  'bulk_delete',
  'attribute_clear',
  'export',
  'unmerge',
] as const;
export const jobStatuses = [
  'pending',
  'awaiting_confirmation',
  'running',
  'completed',
  'failed',
  'rejected',
  'expired',
  'cancelled',
] as const;

export const jobType = pgEnum('job_type', jobTypes);
export const jobStatus = pgEnum('job_status', jobStatuses);

export interface JobError {
  code: string;
  message: string;
  /** The refusal's kind (lib/errors.ts), which gives its HTTP status; absent for faults. */
  kind?: string | undefined;
}

export type OutcomeTeller = 'reply' | 'notice';

/** One row per merge, split, move, delete or bulk delete. Parameters hold IDs only. */
export const jobs = pgTable(
  'jobs',
  {
    id: id(),
    type: jobType('type').notNull(),
    status: jobStatus('status').notNull().default('pending'),
    startedBy: uuid('started_by').references(() => users.id, { onDelete: 'set null' }),
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    preview: jsonb('preview').$type<Record<string, unknown>>(),
    progressTotal: integer('progress_total').notNull().default(0),
    progressDone: integer('progress_done').notNull().default(0),
    progressFailed: integer('progress_failed').notNull().default(0),
    result: jsonb('result').$type<Record<string, unknown>>(),
    error: jsonb('error').$type<JobError>(),
    workflowId: text('workflow_id').notNull().unique(),
    idempotencyKey: text('idempotency_key'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    expiresAt: timestamptz('expires_at'),
    completedAt: timestamptz('completed_at'),
    /**
     * Who told the starter how the job ended: the request that waited for it
     * (`reply`) or a notice (`notice`). Whichever claims it first tells; the
     * other stays silent, so an outcome is never told twice.
     */
    outcomeToldBy: text('outcome_told_by').$type<OutcomeTeller>(),
  },
  (t) => [
    uniqueIndex('jobs_idempotency_key').on(t.startedBy, t.type, t.idempotencyKey),
    index('jobs_type_status_idx').on(t.type, t.status, desc(t.createdAt)),
    index('jobs_created_idx').on(desc(t.createdAt), desc(t.id)),
  ],
);

/**
 * Every ID a job's parameters and preview name, one row each: an erasure finds
 * the previews that show an erased object through it (by the primary key's
 * leading `object_id`) instead of reading every job's preview.
 */
export const jobMentions = pgTable(
  'job_mentions',
  {
    objectId: uuid('object_id').notNull(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.objectId, t.jobId] })],
);

/** The ID of a merged-away customer keeps leading to the profile that survived. */
export const mergeRedirects = pgTable(
  'merge_redirects',
  {
    sourceCustomerId: uuid('source_customer_id').primaryKey(),
    targetCustomerId: uuid('target_customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    jobId: uuid('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('merge_redirects_target_idx').on(t.targetCustomerId)],
);

export const jobItemStatuses = ['pending', 'done', 'failed', 'skipped'] as const;
export const jobItemStatus = pgEnum('job_item_status', jobItemStatuses);

/**
 * The selection of a bulk job, fixed when it starts: one row per object, in
 * order. Its status is the job's durable cursor, so a resumed job picks up
 * exactly where it stopped and an object is never handled twice.
 */
export const jobItems = pgTable(
  'job_items',
  {
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    objectId: uuid('object_id').notNull(),
    status: jobItemStatus('status').notNull().default('pending'),
    /** How often the object was found busy (locked by another job). */
    attempts: integer('attempts').notNull().default(0),
    /** Why the object could not be handled: a stable code, never personal data. */
    reason: text('reason'),
    /** What erasing the object removed, by place (IDs and counts only): a GDPR request's proof. */
    counts: jsonb('counts').$type<Record<string, number>>(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.jobId, t.position] }),
    uniqueIndex('job_items_object_idx').on(t.jobId, t.objectId),
    index('job_items_status_idx').on(t.jobId, t.status, t.position),
  ],
);
