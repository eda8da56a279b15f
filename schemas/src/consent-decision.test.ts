import { describe, expect, test } from 'vitest';
import { type ConsentMode, decideConsent } from './consent-decision.js';
import { consentGranted } from './consent.js';

const withConsent = (categoryPreferences: Record<string, unknown>, category?: string) => ({ consent: { categoryPreferences, category } });

/** [mode, context, allowed] — the rule as a table. */
const CASES: [ConsentMode, unknown, boolean][] = [
  ['opt-out', undefined, true],
  ['opt-out', {}, true],
  ['opt-out', withConsent({ analytics: true }), true],
  ['opt-out', withConsent({ analytics: false }), false],
  ['opt-out', withConsent({ analytics: true, marketing: false }, 'marketing'), false],
  ['opt-out', withConsent({ marketing: false }), true],
  ['opt-in', undefined, false],
  ['opt-in', withConsent({ marketing: true }), false],
  ['opt-in', withConsent({ analytics: true }), true],
  ['opt-in', withConsent({ analytics: 'yes' }), false],
  ['opt-in', withConsent({ analytics: true }, ''), true],
  ['opt-in', withConsent({}, 'necessary'), true],
  ['opt-out', withConsent({ necessary: false }, 'necessary'), true],
  // Category names match case-insensitively, in the preferences and in the event's category.
  ['opt-in', withConsent({ Analytics: true }), true],
  ['opt-in', withConsent({ analytics: true }, 'ANALYTICS'), true],
  ['opt-out', withConsent({ MARKETING: false }, 'Marketing'), false],
  ['opt-in', withConsent({}, 'Necessary'), true],
  // Two spellings that disagree: the denial wins.
  ['opt-in', withConsent({ analytics: true, Analytics: false }), false],
  ['opt-out', withConsent({ Analytics: false, analytics: true }), false],
];

describe('decideConsent', () => {
  test.each(CASES)('%s, %j → allowed: %s', (mode, context, allowed) => {
    expect(decideConsent(mode, context).allowed).toBe(allowed);
  });

  test('names the category, in lower case, and why it was refused', () => {
    expect(decideConsent('opt-in', withConsent({}, 'Marketing'))).toEqual({
      allowed: false,
      category: 'marketing',
      message: 'consent for "marketing" was not granted (the source is opt-in)',
    });
    expect(decideConsent('opt-out', withConsent({ analytics: false }))).toEqual({
      allowed: false,
      category: 'analytics',
      message: 'consent for "analytics" was denied',
    });
  });

  test('consentGranted is the opt-in decision', () => {
    for (const [, context] of CASES) {
      const consent = (context as { consent?: { categoryPreferences: Record<string, boolean>; category?: string } } | undefined)?.consent;
      if (consent) expect(consentGranted(consent)).toBe(decideConsent('opt-in', context).allowed);
    }
  });
});
