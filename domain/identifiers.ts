/**
 * Whether a text identifies one of some people: it holds one of their full
 * identifiers as whole words (domain/exact-match.ts). An erasure removes
 * what identifies the erased, and only that: "zed@example.com" identifies
 * Zed, "example.com", "Person" or "Zed" alone do not identify "Zed Person,
 * zed@example.com".
 */
import { phoneKey } from './contacts';
import { containsTerm, wordsOf, type Words } from './exact-match';

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

/** A phone number compared normalised (phoneKey), a leading + or 00 making no difference. */
const phoneDigits = (number: string) => phoneKey(number).replace(/^\+/, '');

/** Phone numbers need this many digits to be told apart from other numbers in a text. */
const MIN_PHONE_DIGITS = 4;

interface Needle {
  kind: IdentifierKind;
  term: Words;
}

/** The identifiers of some people, indexed to test many texts against them at once. */
export class IdentifierIndex {
  /** Word identifiers by their first word, so a text is read once whatever the number of people. */
  private readonly byFirstWord = new Map<string, Needle[]>();
  private readonly phones = new Set<string>();

  constructor(people: Iterable<PersonIdentifiers>) {
    for (const person of people) {
      for (const email of person.emails) this.add('email', email);
      for (const handle of person.socialHandles) this.add('social', handle);
      for (const website of person.websites) this.add('website', bareWebsite(website));
      if (person.externalId) this.add('externalId', person.externalId);
      this.add('name', person.name);
      for (const phone of person.phones) {
        const digits = phoneDigits(phone);
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
   * numbers: "call +44 20 7946 0958", "0044 20 7946 0958" and "442079460958"
   * all hold +44 20 7946 0958; "+44 20 7946 09581" and "tel442079460958" do not.
   */
  private holdsPhone(words: readonly string[]): boolean {
    for (let i = 0; i < words.length; i++) {
      let joined = '';
      for (let j = i; j < words.length && /^\d+$/.test(words[j]!); j++) {
        joined += words[j];
        if (this.phones.has(phoneDigits(joined))) return true;
      }
    }
    return false;
  }
}
