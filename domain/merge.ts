/**
 * The rules of merging two customers, used by the API (before a job starts)
 * and by the merge activities (at preview and again at execution).
 */
import type { EmailAddress, PhoneNumber, SocialHandle } from './contacts';
import { DomainError } from '../lib/errors';
import { emailKey } from './contacts';
import { phoneKey } from './phones';

export function assertDifferentCustomers(sourceId: string, targetId: string): void {
  if (sourceId === targetId) {
    throw new DomainError(
      'unprocessable',
      'SAME_CUSTOMER',
      'The source and the target are the same customer.',
      {
        customerId: sourceId,
      },
    );
  }
}

export interface TimelineSize {
  customerId: string;
  conversations: number;
  kobjects: number;
}

/**
 * Two timelines merge only while they hold at most `limit` conversations and
 * KObjects together: a bigger merge would hold its locks too long and produce
 * a profile nobody can read. The way out is to move items to a third customer
 * (or delete them) first: moving them between these two leaves their sum as it is.
 */
export function checkMergeLimit(source: TimelineSize, target: TimelineSize, limit: number): void {
  const sourceTotal = source.conversations + source.kobjects;
  const targetTotal = target.conversations + target.kobjects;
  if (sourceTotal + targetTotal > limit) {
    throw new DomainError(
      'unprocessable',
      'MERGE_LIMIT_EXCEEDED',
      `These customers hold ${sourceTotal + targetTotal} conversations and KObjects together ` +
        `(source ${source.customerId}: ${sourceTotal}; target ${target.customerId}: ${targetTotal}), ` +
        `more than the ${limit} a merge allows. Move items to a third customer first ` +
        `(POST /v1/splits or /v1/kobject-moves) or delete those not needed, then merge; ` +
        `moving items between these two leaves their total unchanged.`,
      { limit, sourceItems: sourceTotal, targetItems: targetTotal },
    );
  }
}

/** The source's emails the target lacks (compared case-insensitively); the target keeps its preferred one. */
export function emailsToAdd(target: EmailAddress[], source: EmailAddress[]): EmailAddress[] {
  const known = new Set(target.map((e) => emailKey(e.address)));
  return source
    .filter((e) => !known.has(emailKey(e.address)))
    .map((e) => ({ address: e.address, preferred: target.length === 0 && e.preferred }));
}

/** The source's phones the target lacks: one number in two spellings is one number (phoneKey). */
export function phonesToAdd(target: PhoneNumber[], source: PhoneNumber[]): PhoneNumber[] {
  const known = new Set(target.map(phoneKey));
  return source
    .filter((p) => !known.has(phoneKey(p)))
    .map((p) => ({
      number: p.number,
      e164: p.e164 ?? null,
      preferred: target.length === 0 && p.preferred,
    }));
}

export interface MergeableProfile {
  name: string;
  companyId: string | null;
  emails: EmailAddress[];
  phones: PhoneNumber[];
  socialHandles: SocialHandle[];
  websites: string[];
  externalId: string | null;
  customAttributes: Record<string, unknown>;
}

const isEmpty = (value: unknown) =>
  value === null ||
  value === undefined ||
  value === '' ||
  (Array.isArray(value) && value.length === 0);

/**
 * The surviving profile: the target's fields win, its empty fields are filled
 * from the source, emails and phones are united, custom attributes likewise.
 */
export function mergeProfiles(
  target: MergeableProfile,
  source: MergeableProfile,
): MergeableProfile {
  const handles = new Set(
    target.socialHandles.map((h) => `${h.network.toLowerCase()}\n${h.handle.toLowerCase()}`),
  );
  const sites = new Set(target.websites.map((w) => w.toLowerCase()));
  // Keys are user-given: a Map never mistakes `constructor` or `__proto__` for one of its own.
  const attributes = new Map(Object.entries(target.customAttributes));
  for (const [key, value] of Object.entries(source.customAttributes)) {
    if (isEmpty(attributes.get(key))) attributes.set(key, value);
  }
  return {
    name: isEmpty(target.name) ? source.name : target.name,
    companyId: target.companyId ?? source.companyId,
    emails: [...target.emails, ...emailsToAdd(target.emails, source.emails)],
    phones: [...target.phones, ...phonesToAdd(target.phones, source.phones)],
    socialHandles: [
      ...target.socialHandles,
      ...source.socialHandles.filter(
        (h) => !handles.has(`${h.network.toLowerCase()}\n${h.handle.toLowerCase()}`),
      ),
    ],
    websites: [...target.websites, ...source.websites.filter((w) => !sites.has(w.toLowerCase()))],
    externalId: target.externalId ?? source.externalId,
    customAttributes: Object.fromEntries(attributes),
  };
}
