/** A collector reached under a path of the site's own origin (`https://shop.test/t/`): every URL the SDK builds keeps the path. */
import { describe, expect, it, vi } from 'vitest';
import { fakeNetwork, routePageTo } from '../test/helpers.js';
import type { Tally } from './core.js';
import { installStub } from './snippet.js';

const net = fakeNetwork();
const w = window as unknown as { tally?: unknown };

routePageTo(net);

/** Runs the script tag as if loaded from `src`, with the given data-* attributes. */
async function loadScriptTag(src: string, data: Record<string, string> = {}): Promise<Tally> {
  delete w.tally;
  const s = document.createElement('script');
  s.src = src;
  Object.assign(s.dataset, { writeKey: 'wk_fp', capturePages: 'false', ...data });
  Object.defineProperty(document, 'currentScript', { configurable: true, get: () => s });
  vi.resetModules();
  await import('./browser.js');
  return w.tally as Tally;
}

describe('a collector under a path of the site', () => {
  it('the script tag sends to the folder it was loaded from, query string and all ignored', async () => {
    for (const [src, url] of [
      ['https://shop.test/t/t.js', 'https://shop.test/t/v1/batch'],
      ['https://shop.test/a/b/stats.js?v=3', 'https://shop.test/a/b/v1/batch'],
      ['https://t.shop.test/t.js', 'https://t.shop.test/v1/batch'],
    ]) {
      const tally = await loadScriptTag(src!);
      tally.track('Hello');
      tally.flush();
      await vi.advanceTimersByTimeAsync(0);
      expect(net.requests.at(-1)!.url).toBe(url);
    }
  });

  it('data-host with a path, with or without its trailing slash, keeps the path', async () => {
    for (const host of ['https://shop.test/t', 'https://shop.test/t/']) {
      const tally = await loadScriptTag('https://cdn.test/x.js', { host });
      tally.track('Hello');
      tally.flush();
      await vi.advanceTimersByTimeAsync(0);
      expect(net.requests.at(-1)!.url).toBe('https://shop.test/t/v1/batch');
    }
  });

  it('the loader snippet loads t.js from under the host’s path, trailing slash or not', () => {
    for (const host of ['https://shop.test/t', 'https://shop.test/t/']) {
      const page: { tally?: unknown } = {};
      const head = document.createElement('div');
      installStub(page, { createElement: (t: string) => document.createElement(t), head } as unknown as Document);
      (page.tally as Tally).init({ writeKey: 'wk_fp', host });
      expect(head.querySelector('script')!.src).toBe('https://shop.test/t/t.js');
    }
  });
});
