import * as z from 'zod';

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
 * one (DESIGN.md §4), so this event alone may carry neither an anonymousId nor a userId: it
 * is stored, attributed to nobody.
 *
 * @example
 * { type: 'track', messageId: 'm-1', event: CONSENT_UPDATED_EVENT, properties: { analytics: false } }
 */
export const CONSENT_UPDATED_EVENT = 'Consent Updated';

/**
 * The category an event needs when its consent object names none.
 *
 * @example
 * const category = consent.category ?? DEFAULT_CONSENT_CATEGORY;
 */
export const DEFAULT_CONSENT_CATEGORY = 'analytics';

/**
 * The category that is always allowed, whatever the preferences say.
 *
 * @example
 * consentGranted({ categoryPreferences: {}, category: ALWAYS_ALLOWED_CATEGORY }); // true
 */
export const ALWAYS_ALLOWED_CATEGORY = 'necessary';

/**
 * Whether a consent state allows the event it travels with: the event's category
 * (`analytics` when unnamed) must be granted (`true`) in `categoryPreferences`; the
 * `necessary` category always is. Category names match case-insensitively, since
 * consent managers write `Analytics` as often as `analytics`.
 *
 * @example
 * consentGranted({ categoryPreferences: { analytics: true, marketing: false } }); // true
 * consentGranted({ categoryPreferences: { analytics: true, marketing: false }, category: 'marketing' }); // false
 */
export function consentGranted(consent: Consent): boolean {
  const category = (consent.category ?? DEFAULT_CONSENT_CATEGORY).toLowerCase();
  if (category === ALWAYS_ALLOWED_CATEGORY) return true;
  for (const [name, granted] of Object.entries(consent.categoryPreferences)) {
    if (name.toLowerCase() === category) return granted === true;
  }
  return false;
}
