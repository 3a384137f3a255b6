/**
 * What a phone number is, in one place: a number is parsed with
 * libphonenumber-js and its full metadata (`/max`, so "valid" means the
 * number lies in a range its country assigns, not merely that it has a
 * plausible length), and two spellings of one number are one number because
 * they share one E.164 form. A number written without a country code is read
 * in the deployment's default region (PHONE_DEFAULT_REGION, lib/config.ts).
 */
import {
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js/max';

/** An ISO 3166-1 alpha-2 region libphonenumber has metadata for ("GB", "US", "DE"…). */
export type PhoneRegion = CountryCode;

export const isPhoneRegion = (value: string): value is PhoneRegion => isSupportedCountry(value);

/** Why a text is not a phone number, for the refusal. */
export type PhoneRejection = 'not_a_number' | 'invalid' | 'extension';

export type ParsedPhone = { e164: string } | { rejected: PhoneRejection };

/**
 * The E.164 form of a number as typed, read in `region` when it has no
 * country code ("+44 20 7946 0958", "020 7946 0958" in GB and
 * "0044 20 7946 0958" in GB are all +442079460958). The text must be the
 * number alone (no surrounding words) and a valid number of its country. An
 * extension is refused: E.164 cannot hold one, and two extensions of one
 * line would otherwise become one number.
 */
export function parsePhone(text: string, region: PhoneRegion): ParsedPhone {
  const parsed = parsePhoneNumberFromString(text, { defaultCountry: region, extract: false });
  if (!parsed) return { rejected: 'not_a_number' };
  if (parsed.ext) return { rejected: 'extension' };
  if (!parsed.isValid()) return { rejected: 'invalid' };
  return { e164: parsed.number };
}

/** The E.164 form of `text`, or null when it is not a valid phone number. */
export function toE164(text: string, region: PhoneRegion): string | null {
  const parsed = parsePhone(text, region);
  return 'e164' in parsed ? parsed.e164 : null;
}

/**
 * A number stored before numbers were parsed, which does not parse, keeps
 * the old key: its digits, an international "00" read as "+". Such a number
 * still equals itself in every spelling that differs only in punctuation.
 */
function digitsKey(number: string): string {
  const digits = number.trim().replace(/[^\d+]/g, '');
  return digits.startsWith('00') ? `+${digits.slice(2)}` : digits;
}

/**
 * The key of a stored phone number: the one value two spellings of one
 * number share, used for uniqueness within a profile, merges, the search
 * index and erasure matching. It is the E.164 form fixed when the number was
 * written (a later change of the default region does not re-read stored
 * numbers), or for an unparseable number kept from before, its digits.
 */
export function phoneKey(phone: { number: string; e164: string | null }): string {
  return phone.e164 ?? digitsKey(phone.number);
}

/**
 * The key of a number found in a text (a search query, a saved search): its
 * E.164 form when it parses in `region`, else its digits as digitsKey reads
 * them, so that a query still finds an unparseable number kept from before.
 */
export function phoneKeyOfText(text: string, region: PhoneRegion): string {
  return toE164(text, region) ?? digitsKey(text);
}

/** A key as bare digits, the form the search index and text matching compare. */
export const keyDigits = (key: string) => key.replace(/^\+/, '');
