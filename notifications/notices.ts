/**
 * What each kind of notice says and to whom. Everything shown is read from
 * Postgres by ID: kinds, statuses, counts, dates and the request's opaque
 * reference; never a customer's personal data.
 */
import { findJob } from '../db/queries/job-rows';
import {
  recipientsByIds,
  recipientsWithPermission,
  type NoticeCategory,
  type Recipient,
} from '../db/queries/notifications';
import { findGdprRequest } from '../db/queries/gdpr';
import type { Queryable } from '../db/client';
import type { GdprRequestRow } from '../db/queries/gdpr';
import { exportArchives } from '../db/schema';
import { eq } from 'drizzle-orm';
import type { Notice } from '../workflows/contracts';
import { findSavedSearch } from '../db/queries/saved-searches';
import { temporalUiLink } from '../lib/temporal';
import { countsInWords, jobNotice, type NoticeFact, type NoticeLink } from './job-notice';

/** Where a notice's links lead: the API's public address and, for admins, Temporal UI. */
export interface NoticeLinks {
  publicUrl: string;
  temporalUi?: { url: string; namespace: string } | undefined;
}

export interface RenderedNotice {
  /** Built from IDs only; one delivery per key, recipient and channel. */
  key: string;
  category: NoticeCategory;
  recipients: Recipient[];
  title: string;
  body: string;
  link: string;
  /** Labelled facts and every link, when the notice has them: the email's HTML lays them out. */
  facts?: NoticeFact[];
  links?: NoticeLink[];
  jobId: string | null;
  gdprRequestId: string | null;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

const regulationNames: Record<GdprRequestRow['regulation'], string> = {
  gdpr: 'GDPR',
  uk_gdpr: 'UK GDPR',
  ccpa: 'CCPA',
};

/** "(access, UK GDPR)": how a notice tells one privacy request from another. */
const kindOf = (request: Pick<GdprRequestRow, 'type' | 'regulation'>) =>
  `(${request.type}, ${regulationNames[request.regulation]})`;

/**
 * An export made for a privacy request is news for everyone who handles
 * privacy requests (gdpr.manage), not only for whoever started it: any of
 * them may deliver it. Undefined for any other job.
 */
async function renderRequestExport(
  db: Queryable,
  notice: Extract<Notice, { kind: 'job_finished' }>,
  job: NonNullable<Awaited<ReturnType<typeof findJob>>>,
  publicUrl: string,
): Promise<RenderedNotice | undefined> {
  const requestId = job.type === 'export' ? job.params.requestId : undefined;
  if (typeof requestId !== 'string') return undefined;
  const request = await findGdprRequest(db, requestId);
  if (!request) return undefined;
  const [archive] = await db
    .select({ id: exportArchives.id, expiresAt: exportArchives.expiresAt })
    .from(exportArchives)
    .where(eq(exportArchives.jobId, job.id));
  const handlers = await recipientsWithPermission(db, 'gdpr.manage');
  const starter = job.startedBy ? await recipientsByIds(db, [job.startedBy]) : [];
  const recipients = [...handlers, ...starter.filter((s) => !handlers.some((h) => h.id === s.id))];
  const kind = kindOf(request);
  const ready = notice.status === 'completed' && archive;
  const counts =
    countsInWords((job.result?.counts as Record<string, unknown> | undefined) ?? {}) ?? 'none';
  return {
    key: `job:${job.id}:${notice.status}`,
    category: 'gdprDeadlines',
    recipients,
    title: ready
      ? `Export ready for privacy request ${kind}`
      : `Export for privacy request ${kind} ${notice.status}`,
    body: ready
      ? `The export ${archive.id} for privacy request ${request.id} ${kind} is ready to download until ` +
        `${archive.expiresAt.toISOString()}.\nCounts: ${counts}.\nDue: ${day(request.dueAt)} (${request.dueAt.toISOString()}).`
      : `The export job ${job.id} for privacy request ${request.id} ${kind} ended ${notice.status}.` +
        (job.error ? `\nError code: ${job.error.code}.` : ''),
    link: ready ? `${publicUrl}/v1/exports/${archive.id}` : `${publicUrl}/v1/jobs/${job.id}`,
    jobId: job.id,
    gdprRequestId: request.id,
  };
}

/** The notice as it will be shown, or undefined when what it is about no longer exists. */
export async function renderNotice(
  db: Queryable,
  notice: Notice,
  links: NoticeLinks,
): Promise<RenderedNotice | undefined> {
  const { publicUrl } = links;
  if (notice.kind === 'job_finished') {
    const job = await findJob(db, notice.jobId);
    if (!job) return undefined;
    const requestExport = await renderRequestExport(db, notice, job, publicUrl);
    if (requestExport) return requestExport;
    if (!job.startedBy) return undefined;
    const [starter] = await recipientsByIds(db, [job.startedBy]);
    const savedSearchId = job.type === 'bulk_delete' ? job.params.savedSearchId : undefined;
    const saved =
      typeof savedSearchId === 'string' ? await findSavedSearch(db, savedSearchId) : undefined;
    const told = jobNotice(
      {
        job,
        starterName: starter?.name ?? null,
        savedSearchName: saved?.name ?? null,
        publicUrl: links.publicUrl,
        temporalUiUrl: links.temporalUi
          ? temporalUiLink(links.temporalUi.url, links.temporalUi.namespace, job.workflowId)
          : null,
      },
      notice.status,
    );
    return {
      key: `job:${job.id}:${notice.status}`,
      category: 'bulkJobCompleted',
      recipients: starter ? [starter] : [],
      ...told,
      jobId: job.id,
      gdprRequestId: null,
    };
  }

  const request = await findGdprRequest(db, notice.gdprRequestId);
  if (!request) return undefined;
  const recipients = await recipientsWithPermission(db, 'gdpr.manage');
  const ref = request.reference ? ` (reference ${request.reference})` : '';
  const kind = kindOf(request);
  const base = {
    category: 'gdprDeadlines' as const,
    recipients,
    link: `${publicUrl}/v1/privacy-requests/${request.id}`,
    gdprRequestId: request.id,
  };
  const due = `Due: ${day(request.dueAt)} (${request.dueAt.toISOString()}).`;
  switch (notice.kind) {
    case 'gdpr_reminder':
      return {
        ...base,
        key: `gdpr:${request.id}:reminder:${notice.daysBefore}`,
        title: `Privacy request due in ${notice.daysBefore} day${notice.daysBefore === 1 ? '' : 's'} ${kind}`,
        body: `Privacy request ${request.id} ${kind}${ref} is still ${request.status}.\n${due}\nDays left: ${notice.daysBefore}.`,
        jobId: null,
      };
    case 'gdpr_overdue':
      return {
        ...base,
        key: `gdpr:${request.id}:overdue`,
        title: `Privacy request overdue ${kind}`,
        body: `Privacy request ${request.id} ${kind}${ref} passed its deadline without being completed or declined.\n${due}\nDays left: 0.`,
        jobId: null,
      };
    case 'gdpr_erasure_failed':
      return {
        ...base,
        key: `gdpr:${request.id}:erasure-failed:${notice.jobId}`,
        title: `Erasure failed for privacy request ${kind}`,
        body: `The erasure job ${notice.jobId} for privacy request ${request.id} ${kind}${ref} failed; the request stays ${request.status}.\n${due}`,
        jobId: notice.jobId,
      };
  }
}
