import { DomainError } from '../lib/errors';

export interface EmailAddress {
  address: string;
  preferred: boolean;
}

export interface PhoneNumber {
  number: string;
  preferred: boolean;
}

export interface SocialHandle {
  network: string;
  handle: string;
}

/** Emails are the same address whatever their case. */
export const emailKey = (address: string) => address.trim().toLowerCase();

/**
 * Phones are the same number whatever their punctuation: "+44 (20) 7946-0958"
 * and "+442079460958" are one number, and an international "00" prefix is a "+".
 */
export function phoneKey(number: string): string {
  const digits = number.trim().replace(/[^\d+]/g, '');
  return digits.startsWith('00') ? `+${digits.slice(2)}` : digits;
}

interface Preferable {
  preferred?: boolean | undefined;
}

/**
 * Exactly one entry of a non-empty list is preferred: the one the caller marked,
 * or the first when none is marked. Two marked entries are a contradiction.
 */
function settlePreferred<T extends Preferable>(
  items: T[],
  what: string,
): (T & { preferred: boolean })[] {
  const marked = items.filter((item) => item.preferred === true).length;
  if (marked > 1) {
    throw new DomainError(
      'unprocessable',
      `MULTIPLE_PREFERRED_${what.toUpperCase()}S`,
      `Only one ${what} can be preferred.`,
    );
  }
  return items.map((item, index) => ({
    ...item,
    preferred: marked === 0 ? index === 0 : item.preferred === true,
  }));
}

function refuseDuplicates(keys: string[], what: string): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) {
      throw new DomainError(
        'unprocessable',
        `DUPLICATE_${what.toUpperCase()}`,
        `The same ${what} is listed twice.`,
      );
    }
    seen.add(key);
  }
}

export function normalizeEmails(
  input: { address: string; preferred?: boolean | undefined }[],
): EmailAddress[] {
  const items = input.map((item) => ({ address: item.address.trim(), preferred: item.preferred }));
  refuseDuplicates(
    items.map((item) => emailKey(item.address)),
    'email',
  );
  return settlePreferred(items, 'email').map(({ address, preferred }) => ({ address, preferred }));
}

export function normalizePhones(
  input: { number: string; preferred?: boolean | undefined }[],
): PhoneNumber[] {
  const items = input.map((item) => ({ number: item.number.trim(), preferred: item.preferred }));
  for (const item of items) {
    if (phoneKey(item.number).replace('+', '').length < 4) {
      throw new DomainError(
        'unprocessable',
        'INVALID_PHONE',
        'A phone number needs at least four digits.',
      );
    }
  }
  refuseDuplicates(
    items.map((item) => phoneKey(item.number)),
    'phone',
  );
  return settlePreferred(items, 'phone').map(({ number, preferred }) => ({ number, preferred }));
}
