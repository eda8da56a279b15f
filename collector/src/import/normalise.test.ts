import { describe, expect, test } from 'vitest';
import { normaliseBirthDate, normaliseEmail, normaliseName, normalisePhone, normalisePostcode } from './normalise.js';

describe('what the matching rules compare', () => {
  test('an e-mail is trimmed and lower-cased, nothing more', () => {
    expect(normaliseEmail('  Ann.Lee+news@Example.COM ')).toBe('ann.lee+news@example.com');
    expect(normaliseEmail('   ')).toBeNull();
  });

  test('a phone in any usual writing becomes E.164; a national number needs the default country', () => {
    for (const written of ['+44 20 7946 0958', '020 7946 0958', '0044 (20) 7946-0958', '+44 (0)20 7946 0958']) {
      expect(normalisePhone(written, 'GB')).toBe('+442079460958');
    }
    expect(normalisePhone('(415) 555-0134', 'US')).toBe('+14155550134');
    expect(normalisePhone('020 7946 0958')).toBeNull();
    expect(normalisePhone('12', 'GB')).toBeNull();
    expect(normalisePhone('call me', 'GB')).toBeNull();
  });

  test('a name loses accents, case and punctuation', () => {
    expect(normaliseName("  Zoë  O'Brien-Smith ")).toBe('zoe o brien smith');
    expect(normaliseName('ÁNN lee')).toBe(normaliseName('Ann Lee'));
    expect(normaliseName('李 小龍')).toBe('李 小龍');
    expect(normaliseName(' - ')).toBeNull();
  });

  test('a postcode loses spaces and case', () => {
    expect(normalisePostcode(' sw1a 1aa ')).toBe('SW1A1AA');
  });

  test('a birth date is read year first only, and must exist', () => {
    expect(normaliseBirthDate('1990/4/3')).toBe('1990-04-03');
    expect(normaliseBirthDate('1990-04-03T00:00:00Z')).toBe('1990-04-03');
    expect(normaliseBirthDate('1990-02-30')).toBeNull();
    expect(normaliseBirthDate('03/04/1990')).toBeNull();
  });
});
