// Pure unit tests: no services involved.
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_NAME_PATTERN,
  checkAttributes,
  indexValue,
  type AttributeRule,
} from '../../domain/attributes';
import { mergeProfiles, type MergeableProfile } from '../../domain/merge';
import { DomainError } from '../../lib/errors';
import { attributeFields } from '../../search/documents';
import { attributeFilterExpression } from '../../search/query';

const rule = (name: string, type: AttributeRule['type'], options: string[] | null = null) => ({
  name,
  type,
  options,
});
const rules = new Map<string, AttributeRule>(
  [
    rule('plan', 'select', ['free', 'pro']),
    rule('tags', 'multi-select', ['vip', 'beta']),
    rule('seats', 'number'),
    rule('active', 'boolean'),
    rule('renewal', 'date'),
    rule('seenAt', 'date-time'),
    rule('site', 'url'),
    rule('contact', 'email'),
    rule('note', 'text'),
  ].map((r) => [r.name, r]),
);

const refusal = (values: Record<string, unknown>, stored?: Record<string, unknown>) => {
  try {
    checkAttributes(values, { field: 'customAttributes', rules, stored });
  } catch (error) {
    if (error instanceof DomainError)
      return { code: error.code, message: error.message, ...error.details };
    throw error;
  }
  return undefined;
};

describe('checking attribute values against their definitions', () => {
  it('accepts a value of each type, and null for "no value"', () => {
    expect(
      refusal({
        plan: 'pro',
        tags: ['vip', 'beta'],
        seats: 12.5,
        active: false,
        renewal: '2027-02-28',
        seenAt: '2026-03-01T09:30:00+01:00',
        site: 'https://example.com/a',
        contact: 'ada@example.com',
        note: 'likes tea',
        other: undefined,
      }),
    ).toEqual({
      code: 'ATTRIBUTE_UNKNOWN',
      message: expect.stringContaining('customAttributes.other') as string,
      field: 'customAttributes.other',
      attribute: 'other',
    });
    expect(refusal({ plan: null, seats: null, note: 'x' })).toBeUndefined();
  });

  it('refuses an unknown name, naming it, even one named like an Object.prototype member', () => {
    for (const name of ['colour', 'constructor', 'toString', '__proto__']) {
      const values = JSON.parse(`{"${name}": "x"}`) as Record<string, unknown>;
      expect(refusal(values)).toMatchObject({ code: 'ATTRIBUTE_UNKNOWN', attribute: name });
    }
  });

  it('refuses a value of the wrong type, naming the field', () => {
    const cases: [string, unknown][] = [
      ['seats', '12'],
      ['seats', Number.NaN],
      ['active', 'yes'],
      ['renewal', '2027-02-30'],
      ['renewal', '2027-02-28T10:00:00Z'],
      ['renewal', '1800-01-01'],
      ['seenAt', '2026-03-01T09:30:00'],
      ['site', 'javascript:alert(1)'],
      ['contact', 'not an address'],
      ['note', { nested: true }],
      ['note', 'x'.repeat(2001)],
    ];
    for (const [name, value] of cases) {
      expect(refusal({ [name]: value }), `${name}=${JSON.stringify(value)}`).toMatchObject({
        code: 'ATTRIBUTE_INVALID',
        field: `customAttributes.${name}`,
        attribute: name,
      });
    }
  });

  it('refuses a value not in the list, listing the allowed values', () => {
    expect(refusal({ plan: 'gold' })).toEqual({
      code: 'ATTRIBUTE_INVALID',
      message: 'customAttributes.plan must be one of the allowed values: "free", "pro".',
      field: 'customAttributes.plan',
      attribute: 'plan',
      attributeType: 'select',
      allowed: ['free', 'pro'],
    });
    expect(refusal({ tags: ['vip', 'vip'] })).toMatchObject({ allowed: ['vip', 'beta'] });
    expect(refusal({ tags: ['gold'] })).toMatchObject({ allowed: ['vip', 'beta'] });
    expect(refusal({ tags: 'vip' })).toMatchObject({ code: 'ATTRIBUTE_INVALID' });
  });

  it('lets a value sent back exactly as stored through, undefined or not; a changed one is checked', () => {
    const stored = { legacy: { any: ['thing'] }, plan: 'gold' };
    expect(refusal({ legacy: { any: ['thing'] }, plan: 'gold', seats: 1 }, stored)).toBeUndefined();
    expect(refusal({ legacy: { any: ['other'] } }, stored)).toMatchObject({
      code: 'ATTRIBUTE_UNKNOWN',
      attribute: 'legacy',
    });
    expect(refusal({ plan: 'free' }, stored)).toBeUndefined();
    expect(refusal({ plan: 'platinum' }, stored)).toMatchObject({ code: 'ATTRIBUTE_INVALID' });
  });

  it('takes names of a letter then letters, digits and _, up to 63 characters', () => {
    const valid = new RegExp(ATTRIBUTE_NAME_PATTERN);
    expect(['a', 'plan', 'lastOrder_2', `a${'b'.repeat(62)}`].every((n) => valid.test(n))).toBe(
      true,
    );
    expect(
      ['', 'Plan', '1a', '_a', 'a-b', 'a.b', `a${'b'.repeat(63)}`].some((n) => valid.test(n)),
    ).toBe(false);
  });
});

describe('attribute values in the search index', () => {
  it('holds numbers as numbers and dates as epoch milliseconds; a value that does not fit is left out', () => {
    expect(indexValue(rules.get('seats')!, 3)).toBe(3);
    expect(indexValue(rules.get('renewal')!, '2027-02-28')).toBe(Date.UTC(2027, 1, 28));
    expect(indexValue(rules.get('seenAt')!, '2026-03-01T09:30:00+01:00')).toBe(
      Date.UTC(2026, 2, 1, 8, 30),
    );
    expect(indexValue(rules.get('seats')!, 'three')).toBeUndefined();
  });

  it('puts filterable attributes under `attributes` and searchable ones among the texts, nothing else', () => {
    const shown = [
      { ...rules.get('seats')!, filterable: true, searchable: false },
      { ...rules.get('note')!, filterable: false, searchable: true },
      { ...rules.get('tags')!, filterable: true, searchable: true },
      { ...rules.get('plan')!, filterable: false, searchable: false },
    ];
    expect(
      attributeFields(
        { seats: 4, note: 'tea', tags: ['vip'], plan: 'pro', undefinedOne: 'x' },
        shown,
      ),
    ).toEqual({ attributes: { seats: 4, tags: ['vip'] }, attributeTexts: ['tea', 'vip'] });
  });

  it('turns attr filters into typed Meilisearch expressions', () => {
    expect(attributeFilterExpression(rules.get('seats')!, 'attr.seats', 'gte:10')).toBe(
      'attributes.seats >= 10',
    );
    expect(attributeFilterExpression(rules.get('seats')!, 'attr.seats', '7')).toBe(
      'attributes.seats = 7',
    );
    expect(
      attributeFilterExpression(
        rules.get('renewal')!,
        'attr.renewal',
        'between:2027-01-01,2027-12-31',
      ),
    ).toBe(`attributes.renewal ${Date.UTC(2027, 0, 1)} TO ${Date.UTC(2027, 11, 31)}`);
    expect(attributeFilterExpression(rules.get('plan')!, 'attr.plan', 'ne:pro')).toBe(
      'attributes.plan != "pro"',
    );
    expect(attributeFilterExpression(rules.get('note')!, 'attr.note', 'say "hi"')).toBe(
      'attributes.note = "say \\"hi\\""',
    );
    const refused = (r: AttributeRule, value: string) => {
      try {
        attributeFilterExpression(r, `attr.${r.name}`, value);
        return undefined;
      } catch (error) {
        return (error as DomainError).code;
      }
    };
    expect(refused(rules.get('seats')!, 'gt:ten')).toBe('INVALID_FILTER_VALUE');
    expect(refused(rules.get('plan')!, 'gold')).toBe('INVALID_FILTER_VALUE');
    expect(refused(rules.get('note')!, 'gt:a')).toBe('INVALID_FILTER_VALUE');
    expect(refused(rules.get('active')!, 'maybe')).toBe('INVALID_FILTER_VALUE');
  });
});

describe('merging custom attributes, attribute by attribute', () => {
  const profile = (customAttributes: Record<string, unknown>): MergeableProfile => ({
    name: 'Ada',
    companyId: null,
    emails: [],
    phones: [],
    socialHandles: [],
    websites: [],
    externalId: null,
    customAttributes,
  });

  it('keeps each of the target’s values and fills each empty one from the source', () => {
    const merged = mergeProfiles(
      profile({ plan: 'pro', seats: null, note: '', tags: [], active: false }),
      profile({
        plan: 'free',
        seats: 5,
        note: 'tea',
        tags: ['vip'],
        active: true,
        renewal: '2027-01-01',
      }),
    );
    expect(merged.customAttributes).toEqual({
      plan: 'pro',
      seats: 5,
      note: 'tea',
      tags: ['vip'],
      active: false,
      renewal: '2027-01-01',
    });
  });
});
