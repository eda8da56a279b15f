/**
 * A bridge from an IAB TCF v2.2 consent manager (`window.__tcfapi`) to Tally's consent
 * categories: each decision the visitor makes in the CMP (or made before, when the CMP loads)
 * grants and denies Tally's categories by the purposes they need. Tally's own consent rule
 * (docs/design.md §4) stays the one that applies; the bridge only feeds it decisions.
 * A separate entry: `@tally/sdk-web/tcf`, or the script tag add-on `tally-tcf.js`.
 * @example
 * import { tally, init } from '@tally/sdk-web';
 * import { bridgeTcf } from '@tally/sdk-web/tcf';
 * init({ writeKey: 'wk_123', consent: { mode: 'opt-in' } });
 * bridgeTcf(tally);
 */
import { applyPreferences, type ConsentTarget } from './consent-bridge.js';

/** The TC data a CMP passes to its listeners (the fields Tally reads). */
export interface TCData {
  gdprApplies?: boolean | undefined;
  eventStatus?: 'tcloaded' | 'cmpuishown' | 'useractioncomplete' | string;
  listenerId?: number | undefined;
  purpose?: { consents?: Record<string, boolean | undefined> };
}

export type TcfApi = (command: string, version: number, callback: (tcData: TCData, success: boolean) => void, parameter?: unknown) => void;

/**
 * Tally category → the TCF purposes that must all have the visitor's consent for it:
 * `analytics` needs 1 (store and access information on a device), 8 (measure content
 * performance) and 9 (understand audiences through statistics); `marketing` needs 1, 2 (limited
 * data to select advertising), 3 and 4 (personalised advertising profiles) and 7 (measure advertising performance).
 */
export const TCF_PURPOSES: Record<string, number[]> = { analytics: [1, 8, 9], marketing: [1, 2, 3, 4, 7] };

export interface TcfOptions {
  /** Category → purposes, replacing {@link TCF_PURPOSES}. */
  purposes?: Record<string, number[]>;
  /** Where GDPR does not apply (`gdprApplies: false`): grant every mapped category (default), or decide nothing. */
  outsideGdpr?: 'grant' | 'ignore';
}

/**
 * The decision TC data holds, by category, or undefined while it holds none (the CMP's window
 * is up, or the CMP is still loading). Only consent counts, not legitimate interest.
 * @example tcfPreferences({ gdprApplies: true, eventStatus: 'useractioncomplete', purpose: { consents: { 1: true, 8: true, 9: true } } })
 * // { analytics: true, marketing: false }
 */
export function tcfPreferences(tcData: TCData, o: TcfOptions = {}): Record<string, boolean> | undefined {
  const purposes = o.purposes || TCF_PURPOSES;
  if (tcData.gdprApplies === false)
    return o.outsideGdpr == 'ignore' ? undefined : Object.fromEntries(Object.keys(purposes).map((c) => [c, true]));
  if (tcData.eventStatus != 'tcloaded' && tcData.eventStatus != 'useractioncomplete') return undefined;
  const consents = tcData.purpose?.consents || {};
  return Object.fromEntries(Object.entries(purposes).map(([c, ps]) => [c, ps.every((p) => consents[p] === true)]));
}

/**
 * Listens to the page's TCF CMP and passes every decision to `tally` (its `grant` and `deny`).
 * The CMP (or its stub) must define `__tcfapi` before the bridge starts or by the page's `load`.
 * Answers a function that stops listening.
 */
export function bridgeTcf(tally: ConsentTarget, o: TcfOptions = {}, w: { __tcfapi?: TcfApi } = window as never): () => void {
  let listenerId: number | undefined;
  let stopped = false;
  const last = { key: '' };
  const start = () => {
    const api = w.__tcfapi;
    if (stopped || typeof api != 'function') return;
    api('addEventListener', 2, (tcData, success) => {
      if (stopped || !success || !tcData) return;
      listenerId ??= tcData.listenerId;
      const p = tcfPreferences(tcData, o);
      if (p) applyPreferences(tally, p, last);
    });
  };
  if (typeof w.__tcfapi == 'function') start();
  else addEventListener('load', start, { once: true });
  return () => {
    stopped = true;
    if (listenerId != null) w.__tcfapi?.('removeEventListener', 2, () => {}, listenerId);
  };
}
