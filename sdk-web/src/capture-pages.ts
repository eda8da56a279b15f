/** Page views on load and on SPA navigation, never twice in a row for the same URL. */
import type { Plugin } from './core.js';

export const capturePages: Plugin = (tally, o) => {
  if (o.capturePages === false) return;
  let last: string | undefined;
  // A tick later, so that the router has set the new title.
  const seen = () =>
    setTimeout(() => {
      if (location.href != last) {
        last = location.href;
        tally.page();
      }
    });
  for (const m of ['pushState', 'replaceState'] as const) {
    const original = history[m];
    // seen() looks a tick later, after the original has changed the URL.
    history[m] = function (this: History, ...a: Parameters<History['pushState']>) {
      seen();
      return original.apply(this, a);
    };
  }
  addEventListener('popstate', seen);
  addEventListener('hashchange', seen);
  seen();
};
