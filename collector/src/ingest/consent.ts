import type { ConsentMode } from '../config.js';

/** The category an event needs when it names none. */
export const DEFAULT_CONSENT_CATEGORY = 'analytics';

export type ConsentDecision = { allowed: true } | { allowed: false; category: string; message: string };

/**
 * Whether a source may store an event, from the consent state the event carries in
 * `context.consent`: the category it needs is `context.consent.category` (default
 * `analytics`), `necessary` is always allowed; under `opt-in` the category must be granted
 * (`categoryPreferences[category] === true`), under `opt-out` it must not be denied (`=== false`).
 *
 * @example
 * decideConsent('opt-in', { consent: { categoryPreferences: { analytics: true } } }); // { allowed: true }
 */
export function decideConsent(mode: ConsentMode, context: unknown): ConsentDecision {
  const consent = isRecord(context) && isRecord(context.consent) ? context.consent : undefined;
  const category = typeof consent?.category === 'string' && consent.category !== '' ? consent.category : DEFAULT_CONSENT_CATEGORY;
  if (category === 'necessary') return { allowed: true };
  const preferences = consent && isRecord(consent.categoryPreferences) ? consent.categoryPreferences : undefined;
  const decision = preferences?.[category];
  if (mode === 'opt-in' && decision !== true) {
    return { allowed: false, category, message: `consent for "${category}" was not granted (the source is opt-in)` };
  }
  if (mode === 'opt-out' && decision === false) {
    return { allowed: false, category, message: `consent for "${category}" was denied` };
  }
  return { allowed: true };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
