/** What the consent-manager bridges share: passing a decision, by category, to the tracker. */
import type { Tally } from './core.js';

/** The part of the tracker a bridge talks to. */
export type ConsentTarget = Pick<Tally, 'grant' | 'deny'>;

/**
 * Grants the categories `preferences` grants, then denies those it denies (in that order, so that
 * what waited for the granted ones goes out: a deny of a category never allowed discards nothing).
 * A decision equal to the last one `last` saw is not passed again.
 */
export function applyPreferences(tally: ConsentTarget, preferences: Record<string, boolean>, last: { key: string }): void {
  const key = JSON.stringify(preferences);
  if (key == last.key) return;
  last.key = key;
  const granted = Object.keys(preferences).filter((c) => preferences[c]);
  const denied = Object.keys(preferences).filter((c) => !preferences[c]);
  if (granted.length) tally.grant(...granted);
  if (denied.length) tally.deny(...denied);
}

/**
 * The page's `window.tally` as a bridge's target, for the script tag add-ons: the tracker once it
 * runs; before that (the add-on came first, or the loader snippet's stub waits) the calls join the
 * queue the tracker replays in order.
 */
export function pageTarget(w: { tally?: unknown } = window as never): ConsentTarget {
  const call =
    (m: 'grant' | 'deny') =>
    (...categories: string[]) => {
      const t = w.tally as (ConsentTarget & { init?: unknown }) | unknown[] | undefined;
      if (t && !Array.isArray(t) && typeof t.init == 'function') t[m](...categories);
      else ((w.tally as unknown[] | undefined) ||= []).push([m, ...categories]);
    };
  return { grant: call('grant'), deny: call('deny') };
}
