import { decideConsent } from '@tally/schemas';
import { describe, expect, test } from 'vitest';
import { createConsent, type ConsentOptions } from './consent.js';

// The SDK keeps a tiny consent runtime of its own (zod stays out of the bundle); the rule is
// `decideConsent` in @tally/schemas (docs/design.md §4). For each SDK state and category: the
// SDK sends an event only when the collector, reading the consent state the SDK attaches
// (`categoryPreferences` of its state, `category`), would store it, and holds back exactly
// what the collector would refuse of every category that state names.
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
  { name: 'opt-in, a category granted that is not configured', options: { mode: 'opt-in' }, grant: ['ads'] },
  { name: 'opt-out, a category denied that is not configured', options: {}, deny: ['Statistics'] },
  { name: 'opt-in, a remembered decision for a category no longer configured', options: { mode: 'opt-in' }, saved: { ads: true } },
];
const CATEGORIES = ['necessary', 'analytics', 'marketing', 'Statistics', 'ads'];

describe('the SDK consent runtime agrees with decideConsent of @tally/schemas', () => {
  for (const setup of SETUPS) {
    test(setup.name, () => {
      const consent = createConsent(setup.options, setup.gpc ?? false, setup.saved);
      if (setup.grant) consent.set(setup.grant, true);
      if (setup.deny) consent.set(setup.deny, false);
      const state = consent.state();
      for (const category of CATEGORIES) {
        const collector = decideConsent(state.mode, { consent: { categoryPreferences: state.categoryPreferences, category } });
        // The SDK sends an event when `allowed` is true (undefined: it waits for a decision).
        const sends = consent.allowed(category) === true;
        // Where the attached state names the category, or the SDK sends, both answer alike.
        // Otherwise the SDK may only be the stricter one: under GPC it holds back every
        // category but necessary, named or not.
        if (sends || category in state.categoryPreferences) expect({ category, sends }).toEqual({ category, sends: collector.allowed });
        else expect({ category, sends }).toEqual({ category, sends: false });
      }
    });
  }
});
