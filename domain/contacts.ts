import { DomainError } from '../lib/errors';
import { parsePhone, phoneKey, type PhoneRegion } from './phones';

export interface EmailAddress {
  address: string;
  preferred: boolean;
}

export interface PhoneNumber {
  /** As typed, for display. */
  number: string;
  /** Its E.164 form; null only for a number stored before numbers were parsed that does not parse. */
  e164: string | null;
  preferred: boolean;
}

export interface SocialHandle {
  network: string;
  handle: string;
}

/** Emails are the same address whatever their case. */
export const emailKey = (address: string) => address.trim().toLowerCase();

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

/** Refuses a list holding one key twice, naming both positions (not the value: refusals get logged). */
function refuseDuplicates(keys: string[], what: string): void {
  const seen = new Map<string, number>();
  keys.forEach((key, index) => {
    const first = seen.get(key);
    if (first !== undefined) {
      throw new DomainError(
        'unprocessable',
        `DUPLICATE_${what.toUpperCase()}`,
        `The same ${what} is listed twice (${what}s[${first}] and ${what}s[${index}]).`,
        { index, duplicateOf: first },
      );
    }
    seen.set(key, index);
  });
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

const rejectionDetail = {
  not_a_number: 'is not a phone number',
  invalid:
    'is not a valid number of its country (or of the default region, without a country code)',
  extension: 'has an extension, which E.164 cannot hold; store the line without it',
} as const;

/**
 * Phones as given, each parsed (domain/phones.ts) in `region` when written
 * without a country code: a text that is not a valid number is refused,
 * naming its position; two spellings of one number are one number listed twice.
 */
export function normalizePhones(
  input: { number: string; preferred?: boolean | undefined }[],
  region: PhoneRegion,
): PhoneNumber[] {
  const items = input.map((item, index) => {
    const number = item.number.trim();
    const parsed = parsePhone(number, region);
    if ('rejected' in parsed) {
      // The number itself stays out of the refusal: problem documents get logged.
      throw new DomainError(
        'invalid',
        'INVALID_PHONE_NUMBER',
        `phones[${index}].number ${rejectionDetail[parsed.rejected]}.`,
        { index, field: `phones/${index}/number`, reason: parsed.rejected, region },
      );
    }
    return { number, e164: parsed.e164, preferred: item.preferred };
  });
  refuseDuplicates(items.map(phoneKey), 'phone');
  return settlePreferred(items, 'phone').map(({ number, e164, preferred }) => ({
    number,
    e164,
    preferred,
  }));
}
