/**
 * What each kind of notice says and to whom. Everything shown is read from
 * Postgres by ID: kinds, statuses, counts, dates and the request's opaque
 * reference; never a customer's personal data.
 */
import { findJob } from '../db/queries/jobs';
import {
  recipientsByIds,
  recipientsWithPermission,
  type NoticeCategory,
  type Recipient,
} from '../db/queries/notifications';
import { findGdprRequest } from '../db/queries/gdpr';
import type { Queryable } from '../db/client';
import type { Notice } from '../workflows/contracts';
import { findSavedSearch } from '../db/queries/saved-searches';
import { temporalUiLink } from '../lib/temporal';
import { jobNotice, type NoticeFact, type NoticeLink } from './job-notice';

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

/** The notice as it will be shown, or undefined when what it is about no longer exists. */
export async function renderNotice(
  db: Queryable,
  notice: Notice,
  links: NoticeLinks,
): Promise<RenderedNotice | undefined> {
  const { publicUrl } = links;
  if (notice.kind === 'job_finished') {
    const job = await findJob(db, notice.jobId);
    if (!job?.startedBy) return undefined;
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
  const base = {
    category: 'gdprDeadlines' as const,
    recipients,
    link: `${publicUrl}/v1/gdpr-requests/${request.id}`,
    gdprRequestId: request.id,
  };
  const due = `Due: ${day(request.dueAt)} (${request.dueAt.toISOString()}).`;
  switch (notice.kind) {
    case 'gdpr_reminder':
      return {
        ...base,
        key: `gdpr:${request.id}:reminder:${notice.daysBefore}`,
        title: `GDPR request due in ${notice.daysBefore} day${notice.daysBefore === 1 ? '' : 's'}`,
        body: `Erasure request ${request.id}${ref} is still ${request.status}.\n${due}\nDays left: ${notice.daysBefore}.`,
        jobId: null,
      };
    case 'gdpr_overdue':
      return {
        ...base,
        key: `gdpr:${request.id}:overdue`,
        title: 'GDPR request overdue',
        body: `Erasure request ${request.id}${ref} passed its deadline without being completed or declined.\n${due}\nDays left: 0.`,
        jobId: null,
      };
    case 'gdpr_erasure_failed':
      return {
        ...base,
        key: `gdpr:${request.id}:erasure-failed:${notice.jobId}`,
        title: 'GDPR erasure failed',
        body: `The erasure job ${notice.jobId} for request ${request.id}${ref} failed; the request stays ${request.status}.\n${due}`,
        jobId: notice.jobId,
      };
  }
}
