/**
 * The loader snippet: a stub `tally` that queues calls until the script arrives, and loads
 * the script from the host given to `init` (`<host>/t.js`, or `src`). Built alone into
 * `dist/snippet.js`; `browser.ts` replays the queue in order.
 */
export const STUB_METHODS = [
  'init',
  'track',
  'page',
  'screen',
  'identify',
  'group',
  'alias',
  'reset',
  'flush',
  'grant',
  'deny',
  'productViewed',
  'productAdded',
  'productRemoved',
  'cartViewed',
  'checkoutStarted',
  'orderCompleted',
] as const;

export type StubCall = [string, ...unknown[]];

export function installStub(w: { tally?: unknown }, d: Document): void {
  const t = (w.tally ||= []) as StubCall[] & Record<string, unknown>;
  if (t.init) return;
  for (const m of STUB_METHODS)
    t[m] = (...a: unknown[]) => {
      t.push([m, ...a]);
      if (m == 'init') {
        const o = a[0] as { host?: string; src?: string } | undefined;
        const s = d.createElement('script');
        s.async = true;
        s.src = o?.src || `${(o?.host || '').replace(/\/+$/, '')}/t.js`;
        d.head.appendChild(s);
      }
    };
}
