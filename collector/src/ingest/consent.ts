/**
 * The consent decision (docs/design.md §4) is one function, `decideConsent` in
 * `@tally/schemas`; the collector applies it to every event as it is.
 */
export { type ConsentDecision, decideConsent, DEFAULT_CONSENT_CATEGORY } from '@tally/schemas';
