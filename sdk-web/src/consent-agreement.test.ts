import { decideConsent } from '@tally/schemas';
import { describe, expect, test } from 'vitest';
import { createConsent, type ConsentOptions } from './consent.js';

// The SDK keeps a tiny consent runtime of its own (zod stays out of the bundle); the rule is
// `decideConsent` in @tally/schemas (docs/design.md §4). For each SDK state and category: the
// SDK sends an event exactly when the collector, reading the consent state the SDK attaches
// (`categoryPreferences` of its state, `category`), would store it.
const SETUPS: { name: string; options: ConsentOptions; gpc?: boolean; saved?: Record<string, boolean>; grant?: string[]; deny?: string[] }[] = [
  { name: 'opt-out, undecided', options: {} },
  { name: 'opt-out, analytics denied', options: {}, deny: ['analytics'] },
  { name: 'opt-out, everything denied', options: {}, deny: [] },
  { name: 'opt-out, GPC', options: {}, gpc: true },
  { name: 'opt-out, GPC denies analytics too', options: { gpcDenies: ['analytics', 'marketing'] }, gpc: true },
  { name: 'opt-in, undecided', options: { mode: 'opt-in' } },
  { name: 'opt-in, analytics granted', options: { mode: 'opt-in' }, grant: ['analytics'] },
  { name: 'opt-in, everything granted', options: { mode: 'opt-in' }, grant: [] },
  { name: 'opt-in, everything granted under GPC', options: { mode: 'opt-in' }, gpc: true, grant: [] },
  { name: 'opt-in, preferences from the site', options: { mode: 'opt-in', preferences: { analytics: true, marketing: false } } },
  { name: 'opt-in, remembered decision', options: { mode: 'opt-in' }, saved: { analytics: false, marketing: true } },
  { name: 'opt-in, own categories', options: { mode: 'opt-in', categories: ['necessary', 'Statistics', 'ads'] }, grant: ['Statistics'] },
];
const CATEGORIES = ['necessary', 'analytics', 'marketing', 'Statistics', 'ads'];
// Not in the table, because they disagree: a decision made with `set` for a category that is
// not among `categories`. The state the SDK attaches lists only the configured categories, so
// under opt-in the SDK sends such a granted category's events and the collector refuses them,
// and under opt-out the SDK holds back a denied one the collector would store. Neither sends
// data against a decision; closing it costs bytes the script tag's budget does not have today.

describe('the SDK consent runtime agrees with decideConsent of @tally/schemas', () => {
  for (const setup of SETUPS) {
    test(setup.name, () => {
      const consent = createConsent(setup.options, setup.gpc ?? false, setup.saved);
      if (setup.grant) consent.set(setup.grant, true);
      if (setup.deny) consent.set(setup.deny, false);
      const state = consent.state();
      for (const category of CATEGORIES) {
        const collector = decideConsent(state.mode, { consent: { categoryPreferences: state.categoryPreferences, category } });
        expect({ category, sdk: consent.allowed(category) }).toEqual({ category, sdk: collector.allowed });
      }
    });
  }
});
