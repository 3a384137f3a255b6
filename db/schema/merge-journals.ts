import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, timestamptz } from './columns';
import { jobs } from './jobs';

/**
 * What a merge changed, kept for the undo window (MERGE_UNDO_WINDOW): the
 * source row as it was, the target row before and after. Personal data: it
 * lives only here, is deleted with an erasure of either customer (or of the
 * customer either was merged into since), by the purge once `expires_at` has
 * passed, and by the undo itself. No foreign key to the customers: the
 * source is gone, and the target may be merged away and brought back.
 */
export const mergeJournals = pgTable(
  'merge_journals',
  {
    jobId: uuid('job_id')
      .primaryKey()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    sourceCustomerId: uuid('source_customer_id').notNull(),
    targetCustomerId: uuid('target_customer_id').notNull(),
    /** `to_jsonb` of the source's row just before the merge: every column, restored as is. */
    source: jsonb('source').$type<Record<string, unknown>>().notNull(),
    targetBefore: jsonb('target_before').$type<Record<string, unknown>>().notNull(),
    targetAfter: jsonb('target_after').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (t) => [
    index('merge_journals_source_idx').on(t.sourceCustomerId),
    index('merge_journals_target_idx').on(t.targetCustomerId),
    index('merge_journals_expires_idx').on(t.expiresAt),
  ],
);

export const mergeJournalItemKinds = ['conversation', 'kobject', 'event', 'redirect'] as const;
export type MergeJournalItemKind = (typeof mergeJournalItemKinds)[number];

/**
 * Each thing a merge moved: a conversation, KObject or event of the source,
 * or a redirect that led to the source and was re-pointed at the target.
 * An event keeps its external ID, which the merge may have cleared.
 */
export const mergeJournalItems = pgTable(
  'merge_journal_items',
  {
    jobId: uuid('job_id')
      .notNull()
      .references(() => mergeJournals.jobId, { onDelete: 'cascade' }),
    kind: text('kind').$type<MergeJournalItemKind>().notNull(),
    objectId: uuid('object_id').notNull(),
    externalId: text('external_id'),
  },
  (t) => [
    primaryKey({ columns: [t.jobId, t.kind, t.objectId] }),
    check(
      'merge_journal_items_kind_check',
      sql`${t.kind} in ('conversation', 'kobject', 'event', 'redirect')`,
    ),
  ],
);

/**
 * Two customers an undo said are different people (smaller ID first): a
 * later merge of the pair needs `override: true`. IDs only.
 */
export const mergeKeepApart = pgTable(
  'merge_keep_apart',
  {
    customerA: uuid('customer_a').notNull(),
    customerB: uuid('customer_b').notNull(),
    jobId: uuid('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.customerA, t.customerB] }),
    index('merge_keep_apart_b_idx').on(t.customerB),
  ],
);
