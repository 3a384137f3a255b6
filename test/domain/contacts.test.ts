// Pure unit tests: no services involved.
import { describe, expect, it } from 'vitest';
import { emailKey, normalizeEmails, normalizePhones } from '../../domain/contacts';
import { phoneKey, phoneKeyOfText, toE164 } from '../../domain/phones';

describe('contact normalisation', () => {
  it('compares emails case-insensitively', () => {
    expect(emailKey(' Ada@Example.COM ')).toBe('ada@example.com');
  });

  it('reads a phone number in any spelling as its E.164 form, national ones in the default region', () => {
    for (const spelling of [
      '+44 20 7946 0958',
      '+44 (20) 7946-0958',
      '+44 (0)20 7946 0958',
      '0044 20 7946 0958',
      '020 7946 0958',
      '020-7946-0958',
    ])
      expect(toE164(spelling, 'GB'), spelling).toBe('+442079460958');
    // Without a country code a number belongs to the default region: the same digits in the US are not valid.
    expect(toE164('020 7946 0958', 'US')).toBeNull();
    expect(toE164('(202) 456-1111', 'US')).toBe('+12024561111');
    expect(toE164('+1 202 456 1111', 'GB')).toBe('+12024561111');
  });

  it('keys a stored phone by its E.164 form, and one kept unparsed by its digits', () => {
    expect(phoneKey({ number: '020 7946 0958', e164: '+442079460958' })).toBe('+442079460958');
    expect(phoneKey({ number: '+1 555 0100', e164: null })).toBe('+15550100');
    expect(phoneKey({ number: '00 1 555 0100', e164: null })).toBe('+15550100');
    expect(phoneKeyOfText('020 7946 0958', 'GB')).toBe('+442079460958');
    expect(phoneKeyOfText('+1 555 0100', 'GB')).toBe('+15550100');
  });

  it('stores each phone as typed with its E.164 form', () => {
    expect(
      normalizePhones(
        [{ number: ' 020 7946 0958 ' }, { number: '+1 202 456 1111', preferred: true }],
        'GB',
      ),
    ).toEqual([
      { number: '020 7946 0958', e164: '+442079460958', preferred: false },
      { number: '+1 202 456 1111', e164: '+12024561111', preferred: true },
    ]);
    expect(normalizePhones([], 'GB')).toEqual([]);
  });

  it('prefers the first entry unless one is marked', () => {
    expect(
      normalizeEmails([{ address: 'a@x.io' }, { address: 'b@x.io' }]).map((e) => e.preferred),
    ).toEqual([true, false]);
    expect(
      normalizePhones([{ number: '+44 20 7946 0958' }, { number: '+44 20 7946 0959' }], 'GB').map(
        (p) => p.preferred,
      ),
    ).toEqual([true, false]);
    expect(normalizeEmails([])).toEqual([]);
  });

  it('refuses contradictions with a stable code', () => {
    expect(() =>
      normalizeEmails([
        { address: 'a@x.io', preferred: true },
        { address: 'b@x.io', preferred: true },
      ]),
    ).toThrow(expect.objectContaining({ code: 'MULTIPLE_PREFERRED_EMAILS' }));
  });

  it('refuses a text that is not a valid phone number, naming its position and not its digits', () => {
    const refusal = (number: string, at = 1) => {
      try {
        normalizePhones([{ number: '+44 20 7946 0958' }, { number }].slice(1 - at), 'GB');
      } catch (error) {
        return error as { kind: string; code: string; message: string; details: object };
      }
      throw new Error(`${number} was accepted`);
    };
    for (const [number, reason] of [
      ['+.(045)5401.)', 'not_a_number'],
      ['()-', 'not_a_number'],
      ['call 020 7946 0958', 'not_a_number'],
      ['+1 555 0100', 'invalid'],
      ['1234', 'invalid'],
      ['+44 20 7946 09581', 'invalid'],
      ['020 7946 0958 ext. 12', 'extension'],
    ] as const) {
      const error = refusal(number);
      expect(error, number).toMatchObject({
        kind: 'invalid',
        code: 'INVALID_PHONE_NUMBER',
        details: { index: 1, field: 'phones/1/number', reason, region: 'GB' },
      });
      expect(error.message).toContain('phones[1].number');
      expect(error.message).not.toContain(number);
    }
    expect(refusal('1234', 0)).toMatchObject({ details: { index: 0, field: 'phones/0/number' } });
  });

  it('refuses two spellings of one number in one profile', () => {
    expect(() =>
      normalizePhones(
        [
          { number: '+44 20 7946 0958' },
          { number: '020 7946 0958' },
          { number: '0044 20 7946 0958' },
        ],
        'GB',
      ),
    ).toThrow(
      expect.objectContaining({ code: 'DUPLICATE_PHONE', details: { index: 1, duplicateOf: 0 } }),
    );
    // In the US, "020 7946 0958" is no number at all: the refusal says so instead.
    expect(() =>
      normalizePhones([{ number: '+44 20 7946 0958' }, { number: '020 7946 0958' }], 'US'),
    ).toThrow(expect.objectContaining({ code: 'INVALID_PHONE_NUMBER' }));
  });
});
