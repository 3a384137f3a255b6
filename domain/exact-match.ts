/**
 * Exact matching: what "matches" means when the answer erases people. No
 * typo tolerance, no prefix completion, no relevance: a query term matches a
 * text only as whole words, compared without case or accents.
 *
 * - Text is normalised (lower-cased, compatibility-decomposed, combining
 *   marks removed: "Zoë" and "ZOE" are the same word) and split into words on
 *   anything that is not a letter or a digit.
 * - A query splits into terms on whitespace; a double-quoted phrase is one
 *   term. A term matches a text when its words occur there, adjacent and in
 *   order: `crm-1001` needs `crm` then `1001`; `zqvgwkxtv` does not match
 *   `zqvgwkxtb` nor `zqvgwkxtvson`.
 * - A compound term — words glued by `.`, `@`, `-`, `_`, `+` or an
 *   apostrophe, like an email address or an ID — matches only a whole
 *   compound: `zed@example.com` does not match `ann.zed@example.com` nor
 *   `zed@example.com.au`, and `crm-1001` does not match `crm-1001-b`. A
 *   simple term matches any whole word, also inside a compound (`zed` matches
 *   `zed@example.com`).
 */

/** Text as compared: lower-cased, compatibility-decomposed, without combining marks. */
export function normalise(text: string): string {
  const lower = text.toLowerCase();
  // Most text is ASCII, which has nothing to decompose: the cheap path for it.
  return NOT_PRINTABLE_ASCII.test(lower) ? lower.normalize('NFKD').replace(/\p{M}/gu, '') : lower;
}

const NOT_PRINTABLE_ASCII = /[^ -~]/;

/** A text's words, and for each whether it is glued to the word before it. */
export interface Words {
  words: string[];
  glued: boolean[];
}

const WORD = /[\p{L}\p{N}]+/gu;
/** Separators that make two words one token (an email, a domain, an ID, a hyphenated name). */
const GLUE = /^[.@\-_+'’]+$/;

export function wordsOf(text: string): Words {
  const normal = normalise(text);
  const words: string[] = [];
  const glued: boolean[] = [];
  let end = -1;
  for (const match of normal.matchAll(WORD)) {
    glued.push(end >= 0 && GLUE.test(normal.slice(end, match.index)));
    words.push(match[0]);
    end = match.index + match[0].length;
  }
  return { words, glued };
}

/** True when some of the words are glued into one token: such a term matches whole tokens only. */
const isCompound = (term: Words) => term.glued.some(Boolean);

/** Where `term` occurs in `text` as whole words, starting at `start`. */
function occursAt(text: Words, term: Words, start: number): boolean {
  const n = term.words.length;
  if (start + n > text.words.length) return false;
  for (let k = 0; k < n; k++) if (text.words[start + k] !== term.words[k]) return false;
  if (!isCompound(term)) return true;
  // A compound matches only where the text's token does not go on past it.
  return !text.glued[start] && !text.glued[start + n];
}

/** Whether `term`'s words occur in `text` adjacent, in order and whole. */
export function containsTerm(text: Words, term: Words): boolean {
  if (term.words.length === 0) return false;
  for (let i = 0; i < text.words.length; i++) if (occursAt(text, term, i)) return true;
  return false;
}

/** A query's terms: whitespace-separated, a double-quoted phrase as one; terms without words are dropped. */
export function queryTerms(query: string): Words[] {
  const terms: Words[] = [];
  for (const match of query.matchAll(/"([^"]*)"|(\S+)/g)) {
    const term = wordsOf(match[1] ?? match[2] ?? '');
    if (term.words.length > 0) terms.push(term);
  }
  return terms;
}

/**
 * A parsed query: one or more readings, each a list of terms that must all
 * match. A query that is a phone number has a second reading, its digits as
 * one word, because phone numbers are also searched as bare digits.
 */
export interface ExactQuery {
  readings: Words[][];
}

export function parseExactQuery(query: string, phoneDigits?: string): ExactQuery {
  const readings = [queryTerms(query)];
  if (phoneDigits) readings.push([{ words: [phoneDigits], glued: [false] }]);
  return { readings };
}

/** A query with no term at all: it selects by filters alone, or everything. */
export const isEmptyQuery = (query: ExactQuery) =>
  query.readings.every((terms) => terms.length === 0);

/**
 * True when every term of some reading matches one of the texts (each text a
 * field value). Texts that do not even hold a term's words as substrings are
 * ruled out before they are split into words: most rows of a large selection
 * are.
 */
export function matchesQuery(query: ExactQuery, texts: readonly string[]): boolean {
  const whole = normalise(texts.join(' '));
  const candidates = query.readings.filter((terms) =>
    terms.every((term) => term.words.every((word) => whole.includes(word))),
  );
  if (candidates.length === 0) return false;
  const words = texts.map(wordsOf);
  return candidates.some((terms) =>
    terms.every((term) => words.some((text) => containsTerm(text, term))),
  );
}

/** A filter resolved to the attribute it compares and the one value it accepts. */
export interface ExactFilter {
  attribute: string;
  value: string;
}

/** True when every filter's attribute holds exactly its value (IDs compared without case). */
export function matchesFilters(
  filters: readonly ExactFilter[],
  attributes: Record<string, unknown>,
): boolean {
  return filters.every(({ attribute, value }) => {
    const held = attributes[attribute];
    return (
      (typeof held === 'string' || typeof held === 'number') &&
      String(held).toLowerCase() === value.toLowerCase()
    );
  });
}
