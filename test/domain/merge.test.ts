// Pure unit tests: no services involved.
import { describe, expect, it } from 'vitest';
import { mergeProfiles, type MergeableProfile } from '../../domain/merge';

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

describe('merging custom attributes', () => {
  it('carries attributes named like Object.prototype members over like any other', () => {
    const source = JSON.parse(
      '{"constructor":"x","toString":"y","valueOf":3,"__proto__":{"polluted":true},"plan":"gold"}',
    ) as Record<string, unknown>;
    const merged = mergeProfiles(profile({ plan: 'silver' }), profile(source));
    expect(merged.customAttributes).toEqual(
      JSON.parse(
        '{"plan":"silver","constructor":"x","toString":"y","valueOf":3,"__proto__":{"polluted":true}}',
      ),
    );
    expect(Object.hasOwn(merged.customAttributes, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
