import { describe, expect, test } from 'vitest';
import { decideConsent } from './consent.js';

const consent = (categoryPreferences: Record<string, boolean>, category?: string) => ({ consent: { categoryPreferences, category } });

describe('decideConsent', () => {
  test('opt-out refuses only a denied category', () => {
    expect(decideConsent('opt-out', undefined).allowed).toBe(true);
    expect(decideConsent('opt-out', consent({ analytics: true })).allowed).toBe(true);
    expect(decideConsent('opt-out', consent({ analytics: false })).allowed).toBe(false);
    expect(decideConsent('opt-out', consent({ analytics: true, marketing: false }, 'marketing')).allowed).toBe(false);
  });

  test('opt-in stores only a granted category', () => {
    expect(decideConsent('opt-in', undefined).allowed).toBe(false);
    expect(decideConsent('opt-in', consent({ marketing: true })).allowed).toBe(false);
    expect(decideConsent('opt-in', consent({ analytics: true })).allowed).toBe(true);
  });

  test('necessary is always allowed', () => {
    expect(decideConsent('opt-in', consent({}, 'necessary')).allowed).toBe(true);
    expect(decideConsent('opt-out', consent({ necessary: false }, 'necessary')).allowed).toBe(true);
  });
});
