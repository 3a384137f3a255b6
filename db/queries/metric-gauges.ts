import { sql } from 'drizzle-orm';
import type { Queryable } from '../client';

/** Pending outbox rows counted at most: the count stays cheap during a long search outage. */
export const OUTBOX_BACKLOG_CAP = 1_000_000;

export interface StateGauges {
  /** Search outbox rows not yet drained into Meilisearch (at most OUTBOX_BACKLOG_CAP). */
  outboxBacklog: number;
  /** Seconds since the oldest undrained outbox row was written; 0 when none waits. */
  outboxOldestAgeSeconds: number;
  /** Privacy requests being worked on, by type, regulation and status (open or overdue). */
  privacyRequests: { type: string; regulation: string; status: string; count: number }[];
  /** Jobs not yet finished, by type and status (pending, awaiting_confirmation, running). */
  openJobs: { type: string; status: string; count: number }[];
}

/**
 * What the system holds right now, read from Postgres when metrics are
 * scraped: the same for every process that reads it. Each query stays on a
 * partial or leading index (search_outbox_pending_idx,
 * gdpr_requests_one_open_per_customer_type, jobs_type_status_idx).
 */
export async function readStateGauges(db: Queryable): Promise<StateGauges> {
  // One after another: on a transaction, queries in parallel would queue on its one connection anyway.
  const outbox = await db.execute<{ backlog: number; oldest_age: number | null }>(sql`
      select
        (select count(*)::int from (
          select 1 from search_outbox where processed_at is null limit ${OUTBOX_BACKLOG_CAP}
        ) pending) as backlog,
        (select extract(epoch from now() - created_at)::float8 from search_outbox
          where processed_at is null order by id limit 1) as oldest_age`);
  const privacy = await db.execute<{
    type: string;
    regulation: string;
    status: string;
    count: number;
  }>(sql`
      select type::text, regulation::text, status::text, count(*)::int as count
      from gdpr_requests where status in ('open', 'overdue')
      group by type, regulation, status`);
  const jobs = await db.execute<{ type: string; status: string; count: number }>(sql`
      select type::text, status::text, count(*)::int as count
      from jobs where status in ('pending', 'awaiting_confirmation', 'running')
      group by type, status`);
  const row = outbox.rows[0];
  return {
    outboxBacklog: row?.backlog ?? 0,
    outboxOldestAgeSeconds: Math.max(0, row?.oldest_age ?? 0),
    privacyRequests: privacy.rows,
    openJobs: jobs.rows,
  };
}
