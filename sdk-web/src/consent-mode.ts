/**
 * A bridge from Google Consent Mode v2 to Tally's consent categories: the consent state a site
 * already sets with `gtag('consent', 'default' | 'update', {...})` (commands that land in
 * `window.dataLayer`) grants and denies Tally's categories. Defaults are not a decision: until
 * the first `update`, Tally's own consent mode applies; then each update decides, with defaults
 * filling the signals it leaves out. Tally's consent rule stays the one that applies.
 * A separate entry: `@tally/sdk-web/consent-mode`, or the script tag add-on `tally-consent-mode.js`.
 * @example
 * import { tally, init } from '@tally/sdk-web';
 * import { bridgeConsentMode } from '@tally/sdk-web/consent-mode';
 * init({ writeKey: 'wk_123', consent: { mode: 'opt-in' } });
 * bridgeConsentMode(tally);
 */
import { applyPreferences, type ConsentTarget } from './consent-bridge.js';

/** Tally category → the Consent Mode signals that must all be `granted` for it. */
export const CONSENT_MODE_SIGNALS: Record<string, string[]> = {
  analytics: ['analytics_storage'],
  marketing: ['ad_storage', 'ad_user_data'],
};

export interface ConsentModeOptions {
  /** Category → signals, replacing {@link CONSENT_MODE_SIGNALS}. */
  signals?: Record<string, string[]>;
  /** The data layer's name on `window` (default `dataLayer`, as gtag.js and Tag Manager use). */
  dataLayer?: string;
}

/** Consent Mode signals: `ad_storage: 'granted'`, `analytics_storage: 'denied'`, … */
export type ConsentModeState = Record<string, unknown>;

/**
 * The decision a consent state holds, by category: a category whose signals all have a value is
 * granted when all are `granted`; one with a signal unset is left out.
 * @example consentModePreferences({ analytics_storage: 'granted', ad_storage: 'denied', ad_user_data: 'denied' })
 * // { analytics: true, marketing: false }
 */
export function consentModePreferences(state: ConsentModeState, signals = CONSENT_MODE_SIGNALS): Record<string, boolean> {
  const p: Record<string, boolean> = {};
  for (const [c, s] of Object.entries(signals))
    if (s.every((k) => state[k] == 'granted' || state[k] == 'denied')) p[c] = s.every((k) => state[k] == 'granted');
  return p;
}

/**
 * Follows the page's Consent Mode commands (those already in the data layer, then each one
 * pushed) and passes every decision to `tally` (its `grant` and `deny`). Answers a function that stops.
 */
export function bridgeConsentMode(tally: ConsentTarget, o: ConsentModeOptions = {}, w: Record<string, unknown> = window as never): () => void {
  const name = o.dataLayer || 'dataLayer';
  const layer = ((w[name] as unknown[] | undefined) ||= []) as unknown[] & { push(...items: unknown[]): number };
  const defaults: ConsentModeState = {};
  const updates: ConsentModeState = {};
  const last = { key: '' };
  let seen = 0;
  let updated = false;
  let stopped = false;
  const read = () => {
    if (stopped) return;
    for (; seen < layer.length; seen++) {
      // gtag() pushes its `arguments`: ['consent', 'default' | 'update', { …signals }].
      const e = layer[seen] as ArrayLike<unknown> | undefined;
      if (e?.[0] != 'consent' || typeof e[2] != 'object' || !e[2]) continue;
      if (e[1] == 'default') Object.assign(defaults, e[2]);
      else if (e[1] == 'update') {
        Object.assign(updates, e[2]);
        updated = true;
      }
    }
    const p = consentModePreferences({ ...defaults, ...updates }, o.signals);
    if (updated && Object.keys(p).length) applyPreferences(tally, p, last);
  };
  const push = layer.push;
  layer.push = function (this: unknown[], ...items: unknown[]) {
    const n = push.apply(this, items);
    try {
      read();
    } catch {
      // never reach the host page
    }
    return n;
  };
  read();
  // Stopping leaves the wrapper in place (another script may have wrapped it in turn), idle.
  return () => {
    stopped = true;
  };
}
