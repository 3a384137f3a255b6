/**
 * How a finished job is told to the person who started it: what ran, who
 * started it, when it started and ended, the outcome in words, the counts that
 * matter and links a person can open. Everything is read from Postgres by ID;
 * customers are named by ID, never by their data.
 */
import type { JobRow } from '../db/queries/job-rows';

/** What a notice shows besides its title: labelled facts and links, in order. */
export interface NoticeFact {
  label: string;
  value: string;
}

export interface NoticeLink {
  label: string;
  url: string;
}

export interface JobNoticeContext {
  job: JobRow;
  starterName: string | null;
  /** The saved search a bulk erasure selected by, if it still exists. */
  savedSearchName: string | null;
  publicUrl: string;
  /** Temporal UI's page for the job's workflow, when one is configured. */
  temporalUiUrl: string | null;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const entityWords: Record<string, [string, string]> = {
  customer: ['customer', 'customers'],
  conversation: ['conversation', 'conversations'],
  kobject: ['KObject', 'KObjects'],
};

const entityCount = (entity: unknown, n: number) => {
  const [one, many] = entityWords[String(entity)] ?? ['object', 'objects'];
  return plural(n, one, many);
};

/** The counts a person cares about, in words; internal counters and zeros are left out. */
const countWords: Record<string, [string, string]> = {
  customers: ['customer', 'customers'],
  conversations: ['conversation', 'conversations'],
  messages: ['message', 'messages'],
  kobjects: ['KObject', 'KObjects'],
  events: ['event', 'events'],
  emailsAdded: ['email address added', 'email addresses added'],
  phonesAdded: ['phone number added', 'phone numbers added'],
  cleared: ['value cleared', 'values cleared'],
};

export function countsInWords(counts: Record<string, unknown>): string | undefined {
  const parts = Object.entries(countWords).flatMap(([key, [one, many]]) => {
    const n = counts[key];
    return typeof n === 'number' && n > 0 ? [plural(n, one, many)] : [];
  });
  return parts.length === 0 ? undefined : parts.join(', ');
}

/** "Bulk erasure of 400 customers matching saved search 'Drillset'": what the job was asked to do. */
export function whatRan(job: JobRow, savedSearchName: string | null): string {
  const p = job.params;
  const ids = (key: string) => (Array.isArray(p[key]) ? (p[key] as unknown[]).length : 0);
  switch (job.type) {
    case 'merge':
      return `Merge of customer ${String(p.sourceCustomerId)} into customer ${String(p.targetCustomerId)}`;
    case 'split':
      return `Move of ${plural(ids('conversationIds'), 'conversation')} from customer ${String(p.sourceCustomerId)} to customer ${String(p.targetCustomerId)}`;
    case 'kobject_move':
      return `Move of ${plural(ids('kobjectIds'), 'KObject')} to customer ${String(p.targetCustomerId)}`;
    case 'delete':
      return `Deletion of ${entityWords[String(p.entity)]?.[0] ?? 'object'} ${String(p.id)}`;
    case 'bulk_delete': {
      const what = entityCount(p.entity, job.progressTotal);
      if (typeof p.savedSearchId !== 'string') return `Bulk erasure of ${what} chosen by ID`;
      return savedSearchName === null
        ? `Bulk erasure of ${what} matching saved search ${p.savedSearchId} (since removed)`
        : `Bulk erasure of ${what} matching saved search '${savedSearchName}'`;
    }
    case 'attribute_clear':
      return `Clearing of the ${String(p.entity)} attribute '${String(p.attribute)}'`;
    case 'export':
      return (
        `Export of customer ${String(p.customerId)}'s data` +
        (typeof p.requestId === 'string' ? ` for privacy request ${p.requestId}` : '')
      );
    default:
      return `Job ${job.id} (${job.type})`;
  }
}

const statusWords: Record<string, string> = {
  completed: 'completed',
  failed: 'stopped',
  cancelled: 'was cancelled',
  rejected: 'was refused',
  expired: 'expired unconfirmed',
};

/** The outcome as a sentence, with only the counts that matter. */
export function outcomeInWords(job: JobRow): string {
  const counts = (job.result?.counts as Record<string, unknown> | undefined) ?? {};
  const reason = job.error ? `${job.error.message} (${job.error.code})` : undefined;
  if (job.type === 'bulk_delete') {
    const entity = job.params.entity;
    const { progressDone: done, progressFailed: failed, progressTotal: total } = job;
    const couldNot =
      failed > 0
        ? ` ${entityCount(entity, failed)} could not be erased; the job's items say why.`
        : '';
    switch (job.status) {
      case 'completed':
        return failed === 0
          ? `All ${entityCount(entity, done)} were erased.`
          : `${done} of ${entityCount(entity, total)} were erased.${couldNot}`;
      case 'cancelled':
        return `Cancelled after ${done} of ${entityCount(entity, total)} were erased: those stay erased, the others were not touched.${couldNot}`;
      default:
        return `It stopped after ${done} of ${entityCount(entity, total)} were erased${reason ? `: ${reason}` : ''}.${couldNot}`;
    }
  }
  if (job.status === 'completed') {
    const words = countsInWords(counts);
    if (job.type === 'delete' && counts.alreadyDeleted) return 'Done: it had already been deleted.';
    return words ? `Done: ${words}.` : 'Done.';
  }
  if (job.status === 'cancelled') return 'Cancelled: nothing was changed.';
  return reason ? `Nothing was changed: ${reason}.` : 'Nothing was changed.';
}

const when = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

function took(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return plural(seconds, 'second');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${plural(minutes, 'minute')} ${plural(seconds % 60, 'second')}`;
  return `${plural(Math.floor(minutes / 60), 'hour')} ${plural(minutes % 60, 'minute')}`;
}

export interface JobNotice {
  title: string;
  /** The facts as lines of text: the in-app notice's body and the email's text part. */
  body: string;
  link: string;
  facts: NoticeFact[];
  links: NoticeLink[];
}

export function jobNotice(
  { job, starterName, savedSearchName, publicUrl, temporalUiUrl }: JobNoticeContext,
  status: string,
): JobNotice {
  const what = whatRan(job, savedSearchName);
  const ended = job.completedAt ?? job.updatedAt;
  const facts: NoticeFact[] = [
    { label: 'What ran', value: what },
    { label: 'Outcome', value: outcomeInWords(job) },
    { label: 'Started by', value: starterName ?? 'a user since removed' },
    { label: 'Started', value: when(job.createdAt) },
    {
      label: 'Ended',
      value: `${when(ended)} (took ${took(ended.getTime() - job.createdAt.getTime())})`,
    },
    { label: 'Job', value: job.id },
  ];
  const exportId = job.type === 'export' ? job.result?.exportId : undefined;
  const links: NoticeLink[] = [
    ...(typeof exportId === 'string'
      ? [{ label: 'The export (API)', url: `${publicUrl}/v1/exports/${exportId}` }]
      : []),
    ...(temporalUiUrl ? [{ label: 'Temporal UI (admins)', url: temporalUiUrl }] : []),
    { label: 'The job (API, with your key)', url: `${publicUrl}/v1/jobs/${job.id}` },
  ];
  return {
    title: `${what} ${statusWords[status] ?? status}`,
    body: facts.map((f) => `${f.label}: ${f.value}`).join('\n'),
    link: links[0]!.url,
    facts,
    links,
  };
}
