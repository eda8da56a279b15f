/**
 * The consent decision (docs/design.md §4), in plain TypeScript with no zod: the one rule
 * the collector applies to every event, and the rule the browser SDK's own tiny runtime is
 * tested against.
 */

/** How a source treats an event whose category has no decision: `opt-in` refuses it, `opt-out` allows it. */
export type ConsentMode = 'opt-in' | 'opt-out';

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
 * decideConsent('opt-in', { consent: { categoryPreferences: {}, category: ALWAYS_ALLOWED_CATEGORY } }).allowed; // true
 */
export const ALWAYS_ALLOWED_CATEGORY = 'necessary';

export type ConsentDecision =
  | { allowed: true; category: string }
  | { allowed: false; category: string; message: string };

/**
 * Whether a source may store an event, from the consent state the event carries in its
 * `context.consent`. The category the event needs is `context.consent.category`
 * (`analytics` when absent or empty); `necessary` is always allowed. Under `opt-in` the
 * category must be granted (`categoryPreferences[category] === true`); under `opt-out` it
 * must not be denied (`=== false`).
 *
 * Category names match case-insensitively (consent managers write `Analytics` as often as
 * `analytics`); the category is reported in lower case. Where the preferences name the same
 * category in two spellings that disagree, the denial wins.
 *
 * @example
 * decideConsent('opt-in', { consent: { categoryPreferences: { Analytics: true } } }); // { allowed: true, category: 'analytics' }
 * decideConsent('opt-out', { consent: { categoryPreferences: { marketing: false }, category: 'marketing' } }).allowed; // false
 */
export function decideConsent(mode: ConsentMode, context: unknown): ConsentDecision {
  const consent = isRecord(context) && isRecord(context.consent) ? context.consent : undefined;
  const named = consent?.category;
  const category = (typeof named === 'string' && named !== '' ? named : DEFAULT_CONSENT_CATEGORY).toLowerCase();
  if (category === ALWAYS_ALLOWED_CATEGORY) return { allowed: true, category };
  const preferences = consent && isRecord(consent.categoryPreferences) ? consent.categoryPreferences : {};
  let decision: boolean | undefined;
  for (const [name, value] of Object.entries(preferences)) {
    if (name.toLowerCase() !== category || typeof value !== 'boolean') continue;
    decision = decision === false ? false : value;
  }
  if (mode === 'opt-in' && decision !== true) {
    return { allowed: false, category, message: `consent for "${category}" was not granted (the source is opt-in)` };
  }
  if (mode === 'opt-out' && decision === false) return { allowed: false, category, message: `consent for "${category}" was denied` };
  return { allowed: true, category };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
