/**
 * Whether a text identifies one of some people: it holds one of their full
 * identifiers as whole words (domain/exact-match.ts). An erasure removes
 * what identifies the erased, and only that: "zed@example.com" identifies
 * Zed, "example.com", "Person" or "Zed" alone do not identify "Zed Person,
 * zed@example.com".
 */
import { containsTerm, wordsOf, type Words } from './exact-match';
import { keyDigits, toE164, type PhoneRegion } from './phones';

/** The kinds of identifier looked for, in the order an erasure record lists them. */
export const identifierKinds = [
  'email',
  'phone',
  'social',
  'website',
  'externalId',
  'name',
] as const;
export type IdentifierKind = (typeof identifierKinds)[number];

export interface PersonIdentifiers {
  name: string;
  emails: readonly string[];
  /** Phone keys (domain/phones.ts `phoneKey`): E.164, or the digits of a number that does not parse. */
  phones: readonly string[];
  socialHandles: readonly string[];
  websites: readonly string[];
  externalId: string | null;
}

/** A website as people write it: without scheme, `www.` or trailing slash. */
const bareWebsite = (url: string) =>
  url
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/^www\./i, '')
    .replace(/\/+$/, '');

/** Digits compared with a phone key's digits: an international "00" is the "+" the words lost. */
const internationalDigits = (digits: string) =>
  digits.startsWith('00') ? digits.slice(2) : digits;

/** Phone numbers need this many digits to be told apart from other numbers in a text. */
const MIN_PHONE_DIGITS = 4;
/** E.164 allows 15 digits; with an international "00" a number is written in at most 17. */
const MAX_PHONE_DIGITS = 17;

interface Needle {
  kind: IdentifierKind;
  term: Words;
}

/** The identifiers of some people, indexed to test many texts against them at once. */
export class IdentifierIndex {
  /** Word identifiers by their first word, so a text is read once whatever the number of people. */
  private readonly byFirstWord = new Map<string, Needle[]>();
  private readonly phones = new Set<string>();

  /** `region` reads a number written in a text without its country code (config.phoneDefaultRegion). */
  constructor(
    people: Iterable<PersonIdentifiers>,
    private readonly region: PhoneRegion,
  ) {
    for (const person of people) {
      for (const email of person.emails) this.add('email', email);
      for (const handle of person.socialHandles) this.add('social', handle);
      for (const website of person.websites) this.add('website', bareWebsite(website));
      if (person.externalId) this.add('externalId', person.externalId);
      this.add('name', person.name);
      for (const phone of person.phones) {
        const digits = keyDigits(phone);
        if (digits.length >= MIN_PHONE_DIGITS) this.phones.add(digits);
      }
    }
  }

  private add(kind: IdentifierKind, identifier: string) {
    const term = wordsOf(identifier);
    const first = term.words[0];
    // A single letter or digit ("A", a name's initial) identifies nobody.
    if (first === undefined || term.words.join('').length < 2) return;
    const needles = this.byFirstWord.get(first) ?? [];
    needles.push({ kind, term });
    this.byFirstWord.set(first, needles);
  }

  /** The kind of the first identifier found in `text` as whole words, or undefined. */
  identifiedIn(text: string): IdentifierKind | undefined {
    const words = wordsOf(text);
    for (const word of new Set(words.words)) {
      for (const needle of this.byFirstWord.get(word) ?? []) {
        if (containsTerm(words, needle.term)) return needle.kind;
      }
    }
    return this.phones.size > 0 && this.holdsPhone(words.words) ? 'phone' : undefined;
  }

  /**
   * A phone number in a text is a run of words of digits, whatever separates
   * them; it matches when a stretch of that run, whole words, is one of the
   * numbers in international digits: "call +44 20 7946 0958", "0044 20 7946
   * 0958" and "442079460958" all hold +44 20 7946 0958; "+44 20 7946 09581"
   * and "tel442079460958" do not. A stretch that starts a run may also be the
   * number written nationally, read in the default region: with GB,
   * "call 020 7946 0958" holds it too. Only at the start of a run: inside
   * "+49 20 7946 0958" the stretch "20 7946 0958" is part of a German number.
   */
  private holdsPhone(words: readonly string[]): boolean {
    const isDigits = (k: number) => k >= 0 && k < words.length && /^\d+$/.test(words[k]!);
    for (let i = 0; i < words.length; i++) {
      const startsRun = !isDigits(i - 1);
      let joined = '';
      for (let j = i; isDigits(j); j++) {
        joined += words[j];
        if (joined.length > MAX_PHONE_DIGITS) break;
        if (this.phones.has(internationalDigits(joined))) return true;
        if (startsRun && joined.length >= MIN_PHONE_DIGITS) {
          const e164 = toE164(joined, this.region);
          if (e164 && this.phones.has(keyDigits(e164))) return true;
        }
      }
    }
    return false;
  }
}
