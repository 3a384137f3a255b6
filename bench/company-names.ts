/**
 * Made-up company names and typo'd queries for them, the same on every run,
 * for bench/company-search.ts.
 */

/** Deterministic (mulberry32): every run seeds and asks the same. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(20);
const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
const capital = (word: string) => word[0]!.toUpperCase() + word.slice(1);

// prettier-ignore
const ONSETS = ['b', 'br', 'c', 'cr', 'd', 'dr', 'f', 'fl', 'g', 'gr', 'h', 'j', 'k', 'l', 'm', 'n',
  'p', 'pr', 'qu', 'r', 's', 'st', 't', 'tr', 'v', 'w', 'z', 'th', 'sh', 'ch'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'y'];
const CODAS = ['', '', 'n', 'r', 'x', 'l', 's', 'm', 'ck', 'nt'];
// prettier-ignore
const ADJECTIVES = ['Blue', 'North', 'Silver', 'Green', 'Bright', 'Royal', 'Golden', 'Swift',
  'Global', 'United', 'Pacific', 'Atlantic', 'Summit', 'Prime', 'Urban', 'Alpine', 'Coastal',
  'Central', 'Modern', 'Classic', 'Rapid', 'Solid', 'Clear', 'Noble', 'Iron', 'Crystal', 'Red',
  'Black', 'White', 'Eastern', 'Western', 'Southern', 'Little', 'Grand', 'Happy', 'Smart'];
// prettier-ignore
const NOUNS = ['Harbor', 'Star', 'River', 'Mountain', 'Bridge', 'Falcon', 'Oak', 'Pine', 'Stone',
  'Wave', 'Field', 'Valley', 'Peak', 'Forge', 'Lantern', 'Anchor', 'Arrow', 'Beacon', 'Castle',
  'Crown', 'Garden', 'Horizon', 'Island', 'Meadow', 'Orchard', 'Pioneer', 'Quarry', 'Rock',
  'Shield', 'Tower', 'Harvest', 'Compass', 'Lighthouse', 'Maple', 'Cedar', 'Willow'];
// prettier-ignore
const SECTORS = ['Logistics', 'Foods', 'Energy', 'Media', 'Labs', 'Consulting', 'Software',
  'Textiles', 'Pharma', 'Robotics', 'Finance', 'Travel', 'Systems', 'Partners', 'Studio',
  'Holdings', 'Solutions', 'Industries'];
const SUFFIXES = ['', '', 'GmbH', 'Ltd', 'Inc.', 'SA', '& Co.', 'Group', 'BV', 'LLC'];

/** A pronounceable made-up word of two or three syllables. */
function inventedWord(): string {
  const syllables = rand() < 0.6 ? 2 : 3;
  let word = '';
  for (let i = 0; i < syllables; i++) word += pick(ONSETS) + pick(VOWELS);
  return capital(word + pick(CODAS));
}

export interface BenchCompany {
  id?: string;
  /** The word a person remembers: the made-up word, or the noun of two common words. */
  distinctive: string;
  name: string;
}

/** `n` unique names: 60% a made-up word, 40% two common words, then a sector and a legal form. */
export function companyNames(n: number): BenchCompany[] {
  const byName = new Map<string, BenchCompany>();
  while (byName.size < n) {
    const invented = rand() < 0.6;
    const distinctive = invented ? inventedWord() : pick(NOUNS);
    const brand = invented ? distinctive : `${pick(ADJECTIVES)} ${distinctive}`;
    const name = [brand, pick(SECTORS), pick(SUFFIXES)].join(' ').trim();
    const key = name.toLowerCase();
    if (!byName.has(key) && distinctive.length >= 5) byName.set(key, { distinctive, name });
  }
  return [...byName.values()];
}

type Edit = 'substitute' | 'drop' | 'swap' | 'add';

/** One edit inside a word (never its first letter, which people rarely miss). */
export function typo(word: string, kind: Edit): string {
  const at = 1 + Math.floor(rand() * (word.length - 2));
  const letter = pick('abcdefghijklmnopqrstuvwxyz'.split('').filter((c) => c !== word[at]));
  switch (kind) {
    case 'substitute':
      return word.slice(0, at) + letter + word.slice(at + 1);
    case 'drop':
      return word.slice(0, at) + word.slice(at + 1);
    case 'swap':
      return word.slice(0, at) + word[at + 1]! + word[at]! + word.slice(at + 2);
    case 'add':
      return word.slice(0, at) + letter + word.slice(at);
  }
}

export interface Probe {
  kind: string;
  q: string;
  want: string;
}

const withTypo = (c: BenchCompany, edit: Edit) =>
  c.name.replace(c.distinctive, typo(c.distinctive, edit));

/** Queries of each kind for companies picked at random; `want` is the company meant. */
export function probes(companies: BenchCompany[], perKind: number): Probe[] {
  const kinds: [string, (c: BenchCompany) => string][] = [
    ['whole name, other case', (c) => c.name.toLowerCase()],
    ['name, letter substituted', (c) => withTypo(c, 'substitute')],
    ['name, letter dropped', (c) => withTypo(c, 'drop')],
    ['name, letters swapped', (c) => withTypo(c, 'swap')],
    ['name, letter added', (c) => withTypo(c, 'add')],
    [
      'name without legal form, one typo',
      (c) => withTypo(c, 'substitute').replace(/ (GmbH|Ltd|Inc\.|SA|& Co\.|Group|BV|LLC)$/, ''),
    ],
    ['first 6 letters', (c) => c.name.slice(0, 6)],
  ];
  const list: Probe[] = [];
  for (let i = 0; i < perKind; i++) {
    for (const [kind, query] of kinds) {
      const company = pick(companies);
      list.push({ kind, q: query(company), want: company.id! });
    }
  }
  return list;
}
