// Pure unit tests: no services involved.
import { describe, expect, it } from 'vitest';
import {
  containsTerm,
  isEmptyQuery,
  matchesFilters,
  matchesQuery,
  normalise,
  parseExactQuery,
  queryTerms,
  wordsOf,
} from '../../domain/exact-match';
import { IdentifierIndex, type PersonIdentifiers } from '../../domain/identifiers';

const matches = (query: string, ...fields: string[]) =>
  matchesQuery(parseExactQuery(query), fields);

describe('exact matching', () => {
  it('compares without case or accents, word by word', () => {
    expect(normalise('Zoë ÅNGSTRÖM')).toBe('zoe angstrom');
    expect(wordsOf('Zoë   O’Brien-Smith, crm-1001').words).toEqual([
      'zoe',
      'o',
      'brien',
      'smith',
      'crm',
      '1001',
    ]);
    expect(matches('zoe', 'Zoë Smith')).toBe(true);
    expect(matches('ZOË', 'zoe smith')).toBe(true);
  });

  it('never matches a typo or a prefix', () => {
    expect(matches('zqvgwkxtv', 'Ann zqvgwkxtv')).toBe(true);
    expect(matches('zqvgwkxtv', 'Ann zqvgwkxtb')).toBe(false);
    expect(matches('zqvgwkxtv', 'Ann zqvgwkxtvson')).toBe(false);
    expect(matches('zqvgwkxt', 'Ann zqvgwkxtv')).toBe(false);
  });

  it('needs the words of a term adjacent and in order', () => {
    expect(matches('crm-1001', 'crm-1001')).toBe(true);
    expect(matches('crm-1001', 'crm-1002')).toBe(false);
    expect(matches('crm-1001', '1001-crm')).toBe(false);
    expect(matches('crm-1001', 'crm 7 1001')).toBe(false);
    expect(matches('1001', 'crm-1001')).toBe(true);
  });

  it('matches a compound term (email, ID) only as a whole token', () => {
    expect(matches('zed@example.com', 'ZED@Example.com')).toBe(true);
    expect(matches('zed@example.com', 'ann.zed@example.com')).toBe(false);
    expect(matches('zed@example.com', 'zed@example.com.au')).toBe(false);
    expect(matches('crm-1001', 'crm-1001-b')).toBe(false);
    expect(matches('crm-1001', 'ids: crm-1001, crm-1002')).toBe(true);
    expect(matches('zed', 'zed@example.com')).toBe(true);
  });

  it('needs every term in some field; a quoted phrase is one term within one field', () => {
    expect(matches('ann zqvgwkxtv', 'zqvgwkxtv Ann')).toBe(true);
    expect(matches('ann acme', 'Ann Lee', 'Acme Ltd')).toBe(true);
    expect(matches('"ann lee"', 'Ann Lee')).toBe(true);
    expect(matches('"ann lee"', 'Lee Ann')).toBe(false);
    expect(matches('"ann lee"', 'Ann', 'Lee')).toBe(false);
    expect(matches('ann bob', 'Ann Lee')).toBe(false);
    expect(queryTerms('"ann lee" crm-1 "')).toHaveLength(2);
  });

  it('reads a phone number also as its digits', () => {
    const query = parseExactQuery('+44 20 7946 0958', '442079460958');
    expect(matchesQuery(query, ['442079460958'])).toBe(true);
    expect(matchesQuery(query, ['+44 20 7946 0958'])).toBe(true);
    expect(matchesQuery(query, ['4420794609581'])).toBe(false);
  });

  it('knows an empty query, and matches filters exactly', () => {
    expect(isEmptyQuery(parseExactQuery(''))).toBe(true);
    expect(isEmptyQuery(parseExactQuery(' - "" '))).toBe(true);
    expect(isEmptyQuery(parseExactQuery('a'))).toBe(false);
    const filters = [{ attribute: 'companyId', value: 'ABC' }];
    expect(matchesFilters(filters, { companyId: 'abc' })).toBe(true);
    expect(matchesFilters(filters, { companyId: 'abcd' })).toBe(false);
    expect(matchesFilters(filters, { companyId: null })).toBe(false);
    expect(matchesFilters([], {})).toBe(true);
    expect(containsTerm(wordsOf('x'), wordsOf(''))).toBe(false);
  });
});

describe('identifying a person', () => {
  const zed: PersonIdentifiers = {
    name: 'Zed Person',
    emails: ['zed@example.com'],
    phones: ['+442079460958'],
    socialHandles: ['@zed_p'],
    websites: ['https://www.zed-person.example/'],
    externalId: 'crm-1001',
  };
  const index = new IdentifierIndex([zed], 'GB');

  it('finds each full identifier as whole words', () => {
    expect(index.identifiedIn('zed@example.com')).toBe('email');
    expect(index.identifiedIn('Mail from ZED@EXAMPLE.COM today')).toBe('email');
    expect(index.identifiedIn('zed person')).toBe('name');
    expect(index.identifiedIn('crm-1001')).toBe('externalId');
    expect(index.identifiedIn('zed_p')).toBe('social');
    expect(index.identifiedIn('zed-person.example')).toBe('website');
    for (const phone of [
      '+44 20 7946 0958',
      '442079460958',
      '0044 (20) 7946-0958',
      'tel 442079460958',
      // Written nationally, read in the default region (GB).
      'call 020 7946 0958',
      '020-7946-0958 after six',
      '(020) 7946 0958',
    ])
      expect(index.identifiedIn(phone), phone).toBe('phone');
  });

  it('does not take a part for the whole', () => {
    for (const text of [
      'Person',
      'Zed',
      'example.com',
      'gmail.com',
      'zed@example',
      'ann.zed@example.com',
      'crm-1001-b',
      'crm',
      '7946 0958',
      '+44 20 7946 09581',
      'tel442079460958',
      'Zed Personality',
      // Inside a German number: the national reading starts only where a run of digits does.
      '+49 20 7946 0958',
      'ref 12 7946 0958',
    ])
      expect(index.identifiedIn(text), text).toBeUndefined();
  });

  it('reads national spellings in the region it is given, and keeps a number kept unparsed', () => {
    const us = new IdentifierIndex([zed], 'US');
    expect(us.identifiedIn('call 020 7946 0958')).toBeUndefined();
    expect(us.identifiedIn('call +44 20 7946 0958')).toBe('phone');
    const legacy = new IdentifierIndex([{ ...zed, phones: ['+15550100'] }], 'GB');
    expect(legacy.identifiedIn('+1 555-0100')).toBe('phone');
  });

  it('ignores an identifier of one character', () => {
    const a = new IdentifierIndex([{ ...zed, name: 'A', phones: [] }], 'GB');
    expect(a.identifiedIn('A list')).toBeUndefined();
  });

  it('compares accents and case away', () => {
    const zoe = new IdentifierIndex([{ ...zed, name: 'Zoë Ørsted', phones: [] }], 'GB');
    expect(zoe.identifiedIn('zoe ørsted')).toBe('name');
    expect(zoe.identifiedIn('ZOË ØRSTED')).toBe('name');
  });
});
