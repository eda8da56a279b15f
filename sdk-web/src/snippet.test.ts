import { describe, expect, it, vi } from 'vitest';
import { fakeNetwork, routePageTo } from '../test/helpers.js';
import type { Tally } from './core.js';
import { installStub, STUB_METHODS } from './snippet.js';

const net = fakeNetwork();
const w = window as unknown as { tally: unknown };

routePageTo(net);

describe('loader snippet', () => {
  it('defines a stub whose calls queue in order and loads the script from the init host', () => {
    installStub(w, document);
    const stub = w.tally as Tally;
    stub.track('Before Init', { n: 1 });
    stub.init({ writeKey: 'wk_snip', host: 'https://c.test', flushAt: 100 });
    stub.identify('user-1', { plan: 'pro' });
    stub.productViewed({ product_id: 'p-1', price: 10 });
    stub.track('After Init');
    expect((w.tally as unknown[]).map((c) => (c as unknown[])[0])).toEqual(['track', 'init', 'identify', 'productViewed', 'track']);
    const script = document.head.querySelector('script')!;
    expect(script.src).toBe('https://c.test/t.js');
    expect(script.async).toBe(true);
    // every API method a page may call is queueable
    expect(STUB_METHODS.every((m) => typeof (stub as unknown as Record<string, unknown>)[m] == 'function')).toBe(true);
  });

  it('the script replays the queued calls in order once it arrives', async () => {
    await import('./browser.js');
    const tally = w.tally as Tally;
    expect(Array.isArray(tally)).toBe(false);
    expect(tally.user()!.userId).toBe('user-1');
    tally.flush();
    await vi.advanceTimersByTimeAsync(0);
    const sent = net.accepted();
    expect(sent.map((m) => m.event ?? m.type)).toEqual(['Before Init', 'identify', 'Product Viewed', 'After Init']);
    expect(sent[0]!.userId).toBeUndefined();
    expect(sent[2]!.userId).toBe('user-1');
    expect(net.requests[0]!.url).toBe('https://c.test/v1/batch');
    expect(net.requests[0]!.body.writeKey).toBe('wk_snip');
  });

  it('a blocked script leaves the stub callable: nothing throws', () => {
    const page = { tally: undefined } as { tally?: unknown };
    installStub(page, document);
    const stub = page.tally as Tally;
    expect(() => {
      stub.track('X');
      stub.grant('analytics');
      stub.reset();
    }).not.toThrow();
  });
});
