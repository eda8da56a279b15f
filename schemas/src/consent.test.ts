import { describe, expect, test } from 'vitest';
import { Consent, consentGranted } from './consent.js';

describe('consentGranted', () => {
  test('needs the analytics category when the event names none', () => {
    expect(consentGranted({ categoryPreferences: { analytics: true } })).toBe(true);
    expect(consentGranted({ categoryPreferences: { analytics: false } })).toBe(false);
    expect(consentGranted({ categoryPreferences: {} })).toBe(false);
  });

  test('checks the category the event names', () => {
    const preferences = { analytics: true, marketing: false };
    expect(consentGranted({ categoryPreferences: preferences, category: 'marketing' })).toBe(false);
    expect(consentGranted({ categoryPreferences: { ...preferences, marketing: true }, category: 'marketing' })).toBe(true);
  });

  test('always allows necessary', () => {
    expect(consentGranted({ categoryPreferences: { necessary: false }, category: 'necessary' })).toBe(true);
  });

  test('matches category names case-insensitively (Segment consent managers write "Analytics")', () => {
    expect(consentGranted({ categoryPreferences: { Analytics: true } })).toBe(true);
  });

  test('the schema keeps unknown consent fields', () => {
    expect(Consent.parse({ categoryPreferences: { analytics: true }, source: 'onetrust' })).toEqual({
      categoryPreferences: { analytics: true },
      source: 'onetrust',
    });
  });
});
