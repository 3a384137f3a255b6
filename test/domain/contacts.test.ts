// Pure unit tests: no services involved.
import { describe, expect, it } from 'vitest';
import { emailKey, normalizeEmails, normalizePhones, phoneKey } from '../../domain/contacts';

describe('contact normalisation', () => {
  it('compares emails case-insensitively and phones without punctuation', () => {
    expect(emailKey(' Ada@Example.COM ')).toBe('ada@example.com');
    expect(phoneKey('+44 (20) 7946-0958')).toBe('+442079460958');
    expect(phoneKey('0044 20 7946 0958')).toBe('+442079460958');
  });

  it('prefers the first entry unless one is marked', () => {
    expect(
      normalizeEmails([{ address: 'a@x.io' }, { address: 'b@x.io' }]).map((e) => e.preferred),
    ).toEqual([true, false]);
    expect(
      normalizePhones([{ number: '1234' }, { number: '5678', preferred: true }]).map(
        (p) => p.preferred,
      ),
    ).toEqual([false, true]);
    expect(normalizeEmails([])).toEqual([]);
  });

  it('refuses contradictions with a stable code', () => {
    expect(() =>
      normalizeEmails([
        { address: 'a@x.io', preferred: true },
        { address: 'b@x.io', preferred: true },
      ]),
    ).toThrow(expect.objectContaining({ code: 'MULTIPLE_PREFERRED_EMAILS' }));
    expect(() => normalizePhones([{ number: '+1 555' }])).not.toThrow();
    expect(() => normalizePhones([{ number: '()-' }])).toThrow(
      expect.objectContaining({ code: 'INVALID_PHONE' }),
    );
  });
});
