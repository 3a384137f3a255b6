// Pure unit tests: no services involved.
import { describe, expect, it } from 'vitest';
import { takeBack } from '../../domain/unmerge';

const email = (address: string, preferred = false) => ({ address, preferred });

describe('taking a merge back from its target', () => {
  const before = {
    name: 'Grace',
    external_id: null,
    emails: [email('grace@example.com', true)],
    websites: [],
    custom_attributes: { region: 'south' },
    last_activity_at: '2026-01-01T00:00:00+00:00',
  };
  const after = {
    ...before,
    external_id: 'ext-1',
    emails: [email('grace@example.com', true), email('ada@example.com')],
    websites: ['https://ada.example'],
    custom_attributes: { region: 'south', tier: 'gold' },
    last_activity_at: '2026-02-01T00:00:00+00:00',
  };

  it('restores the target exactly while it is as the merge left it', () => {
    const back = takeBack(before, after, after);
    expect(back.columns).toEqual({
      external_id: null,
      emails: before.emails,
      websites: [],
      custom_attributes: { region: 'south' },
      last_activity_at: before.last_activity_at,
    });
    expect(back).toMatchObject({
      emails: ['ada@example.com'],
      phones: [],
      fields: ['externalId', 'websites', 'customAttributes.tier'],
      kept: [],
    });
  });

  it('keeps what the target changed since, item by item, and takes back the rest', () => {
    const current = {
      ...after,
      external_id: 'ext-2',
      emails: [email('ADA@example.com', true), email('new@example.com')],
      custom_attributes: { region: 'south', tier: 'platinum' },
      last_activity_at: '2026-03-01T00:00:00+00:00',
    };
    const back = takeBack(before, after, current);
    expect(back.columns).toEqual({
      emails: [email('new@example.com')],
      websites: [],
    });
    expect(back.emails).toEqual(['ADA@example.com']);
    expect(back.kept).toEqual([
      { field: 'externalId', reason: 'CHANGED_SINCE' },
      { field: 'customAttributes.tier', reason: 'CHANGED_SINCE' },
    ]);
  });
});
