/**
 * Clicks: `[data-tally-event="Name"]` with `data-tally-prop-<key>` attributes sends a track;
 * with `captureClicks: 'all'`, every link and button too (text and a short selector, never input values).
 */
import type { Plugin, Properties } from './core.js';

const PROP = 'data-tally-prop-';

/** `div#app>ul.menu>a.nav`: at most three levels, stopping at an id. */
export function selector(el: Element, levels = 3): string {
  const c = el.classList[0];
  const part = el.localName + (el.id ? `#${el.id}` : c ? `.${c}` : '');
  const up = el.parentElement;
  return up && !el.id && --levels ? `${selector(up, levels)}>${part}` : part;
}

export const captureClicks: Plugin = (tally, o) => {
  if (o.captureClicks === false) return;
  document.addEventListener(
    'click',
    (e) => {
      try {
        const t = e.target as Element;
        const tagged = t.closest('[data-tally-event]');
        const any = o.captureClicks == 'all' && t.closest('a,button');
        if (tagged) {
          const p: Properties = {};
          for (const a of tagged.attributes) if (a.name.startsWith(PROP)) p[a.name.slice(PROP.length)] = a.value;
          tally.track((tagged as HTMLElement).dataset.tallyEvent!, p);
        } else if (any) {
          tally.track('Element Clicked', {
            text: any.textContent!.trim().slice(0, 100),
            selector: selector(any),
            href: (any as HTMLAnchorElement).href || undefined,
          });
        } else return;
        // A link that leaves the page: send now, with keepalive, rather than on a timer that will not fire,
        // and store it first, as on page hide: a collector down at that moment then loses nothing.
        const link = t.closest('a[href]') as HTMLAnchorElement | null;
        if (link && link.target != '_blank') tally.flush(true);
      } catch {
        // never reach the host page
      }
    },
    true,
  );
};
