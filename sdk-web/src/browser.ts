/**
 * The script-tag entry (dist/tally.js). `<script src=".../tally.js" data-write-key="…" data-host="…" defer>`
 * starts tracking on its own (every option can be a `data-` attribute); calls queued by the loader snippet's stub replay in order.
 */
import { browserEnv } from './browser-env.js';
import { captureClicks } from './capture-clicks.js';
import { capturePages } from './capture-pages.js';
import { createTally, type Options } from './core.js';
import { parse } from './env.js';
import type { StubCall } from './snippet.js';

try {
  const w = window as unknown as { tally?: unknown };
  const queued = w.tally;
  const stub = Array.isArray(queued);
  if (stub || !(queued as { init?: unknown })?.init) {
    const tally = createTally(browserEnv, [capturePages, captureClicks]);
    w.tally = tally;
    const s = document.currentScript as HTMLScriptElement | null;
    const d = s?.dataset;
    if (d?.writeKey) {
      // data-host, data-flush-at="10", data-capture-clicks="all", data-debug="true", data-consent="opt-in",
      // data-gpc-denies="marketing" (a comma-separated list, empty for none), …
      // The script's own folder: `https://shop.example/t/t.js` sends to `https://shop.example/t/v1/batch`.
      const o: Record<string, any> = { host: new URL('.', s!.src).href };
      for (const k in d) o[k] = parse(d[k]) ?? d[k];
      if (typeof o.consent == 'string') o.consent = { mode: o.consent };
      if (d.gpcDenies != null) (o.consent ||= {}).gpcDenies = d.gpcDenies.split(/[\s,]+/);
      tally.init(o as unknown as Options);
    }
    if (stub)
      for (const [m, ...a] of queued as StubCall[]) (tally as unknown as Record<string, (...a: unknown[]) => void>)[m]?.(...a);
  }
} catch {
  // never reach the host page
}
