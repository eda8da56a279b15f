import * as z from 'zod';
import { decideConsent } from './consent-decision.js';

/**
 * The consent state an event was recorded under, in Segment's shape
 * (`context.consent.categoryPreferences`). `category` names the category the event
 * needs (`analytics` when absent); `necessary` is always allowed; `gpc` is true when
 * the browser sent Global Privacy Control. Unknown fields are kept.
 *
 * @example
 * Consent.parse({ categoryPreferences: { necessary: true, analytics: true, marketing: false } });
 */
export const Consent = z.looseObject({
  categoryPreferences: z.record(z.string(), z.boolean()),
  category: z.string().min(1).optional(),
  gpc: z.boolean().optional(),
});
export type Consent = z.infer<typeof Consent>;

/**
 * The event a consent change sends (a track in the `necessary` category). A deny names no
 * one (docs/design.md §4), so this event alone may carry neither an anonymousId nor a userId:
 * it is stored, attributed to nobody.
 *
 * @example
 * { type: 'track', messageId: 'm-1', event: CONSENT_UPDATED_EVENT, properties: { analytics: false } }
 */
export const CONSENT_UPDATED_EVENT = 'Consent Updated';

/**
 * Whether a consent state allows the event it travels with when nothing is allowed without a
 * grant: `decideConsent` in `opt-in` mode, the one consent rule (case-insensitive categories,
 * `analytics` by default, `necessary` always allowed).
 *
 * @example
 * consentGranted({ categoryPreferences: { analytics: true, marketing: false } }); // true
 * consentGranted({ categoryPreferences: { analytics: true, marketing: false }, category: 'marketing' }); // false
 */
export function consentGranted(consent: Consent): boolean {
  return decideConsent('opt-in', { consent }).allowed;
}
