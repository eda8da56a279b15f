import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearBrowserState, fakeNetwork, settle, testEnv, type FakeNetwork } from '../test/helpers.js';
import { createTally, type Options } from './core.js';
import { LEASE_MS, QUEUE } from './delivery.js';
import type { KeyValueStorage } from './env.js';

let net: FakeNetwork;
const start = (o: Partial<Options> = {}, storage: KeyValueStorage = localStorage) => {
  const t = createTally(testEnv(net, { storage }));
  t.init({ writeKey: 'wk_test', host: 'https://c.test', ...o });
  return t;
};
/** The keys of the stored queues, one per tab that stored something. */
const queues = () => Object.keys(localStorage).filter((k) => k.startsWith(QUEUE));
/** Every stored event, whichever tab stored it (each queue is `[written at, ...events]`). */
const stored = (): { event?: string; messageId: string }[] => queues().flatMap((k) => JSON.parse(localStorage.getItem(k)!).slice(1));

beforeEach(() => {
  vi.useFakeTimers();
  clearBrowserState();
  net = fakeNetwork();
});
afterEach(() => vi.useRealTimers());

describe('batching', () => {
  it('sends at 20 events without waiting, as one text batch with the write key', async () => {
    const t = start();
    for (let i = 0; i < 19; i++) t.track(`E${i}`);
    expect(net.requests).toHaveLength(0);
    t.track('E19');
    expect(net.requests).toHaveLength(1);
    const r = net.requests[0]!;
    expect(r.url).toBe('https://c.test/v1/batch');
    expect(r.body.writeKey).toBe('wk_test');
    expect(r.body.batch.map((m) => m.event)).toEqual(Array.from({ length: 20 }, (_, i) => `E${i}`));
    expect(new Date(r.body.sentAt).toISOString()).toBe(r.body.sentAt);
  });

  it('sends fewer events after the flush interval, and both thresholds are configurable', async () => {
    const t = start({ flushAt: 3, flushInterval: 5000 });
    t.track('A');
    t.track('B');
    await vi.advanceTimersByTimeAsync(4999);
    expect(net.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.accepted().map((m) => m.event)).toEqual(['A', 'B']);
    t.track('C');
    t.track('D');
    t.track('E');
    expect(net.requests).toHaveLength(2);
  });

  it('flush() sends at once', () => {
    const t = start();
    t.track('A');
    t.flush();
    expect(net.accepted().map((m) => m.event)).toEqual(['A']);
  });

  it('drops an event over 32 KB (and says so in debug) but sends the others', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = start({ debug: true });
    t.track('Big', { blob: 'x'.repeat(33 * 1024) });
    t.track('Small', { blob: 'x'.repeat(30 * 1024) });
    t.flush();
    expect(net.accepted().map((m) => m.event)).toEqual(['Small']);
    expect(warn).toHaveBeenCalledWith('[tally] over 32 KB', expect.objectContaining({ event: 'Big' }));
    warn.mockRestore();
  });

  it('splits a flush into requests of at most 500 KB, keeping the order', () => {
    const t = start({ flushAt: 100 });
    for (let i = 0; i < 40; i++) t.track(`E${i}`, { blob: 'é'.repeat(15 * 1024) }); // 30 KB of UTF-8 each
    t.flush();
    expect(net.requests.length).toBeGreaterThan(2);
    for (const r of net.requests) expect(r.bytes).toBeLessThanOrEqual(500 * 1024);
    expect(net.accepted().map((m) => m.event)).toEqual(Array.from({ length: 40 }, (_, i) => `E${i}`));
  });
});

describe('retry', () => {
  it('keeps a batch that met a network error, 5xx or 429 in localStorage and retries with growing, jittered delays', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const t = start();
    net.respond(() => ({ status: 503 }));
    t.track('A');
    t.flush();
    await settle();
    expect(stored().map((m) => m.event)).toEqual(['A']);
    // backoff 1 s, 2 s, 4 s (× jitter 0.5–1; the random value is pinned to the top here)
    await vi.advanceTimersByTimeAsync(999);
    expect(net.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.requests).toHaveLength(2);
    net.respond(() => 'network error');
    await vi.advanceTimersByTimeAsync(2000);
    expect(net.requests).toHaveLength(3);
    net.respond(() => ({ status: 429 }));
    await vi.advanceTimersByTimeAsync(4000);
    expect(net.requests).toHaveLength(4);
    net.respond(() => ({ status: 200 }));
    await vi.advanceTimersByTimeAsync(8000);
    expect(net.requests).toHaveLength(5);
    expect(net.accepted().map((m) => m.event)).toEqual(['A']);
    expect(queues()).toEqual([]);
    // the same message each time: the collector stores it once
    expect(new Set(net.requests.map((r) => r.body.batch[0]!.messageId)).size).toBe(1);
  });

  it('jitter spreads the delay between half and all of the backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const t = start();
    net.respond(() => ({ status: 500 }));
    t.track('A');
    t.flush();
    await vi.advanceTimersByTimeAsync(499);
    expect(net.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.requests).toHaveLength(2);
  });

  it('honours Retry-After', async () => {
    const t = start();
    net.respond(() => ({ status: 503, retryAfter: 30 }));
    t.track('A');
    t.flush();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(net.requests).toHaveLength(1);
    net.respond(() => ({ status: 200 }));
    await vi.advanceTimersByTimeAsync(1);
    expect(net.accepted().map((m) => m.event)).toEqual(['A']);
  });

  it('does not retry other 4xx, and reports them in debug', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = start({ debug: true });
    net.respond(() => ({ status: 400 }));
    t.track('A');
    t.flush();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(net.requests).toHaveLength(1);
    expect(queues()).toEqual([]);
    expect(warn).toHaveBeenCalledWith('[tally] HTTP 400', 1);
    warn.mockRestore();
  });

  it('while the collector fails, new events join the stored queue instead of new requests', async () => {
    const t = start();
    net.respond(() => ({ status: 503, retryAfter: 10 }));
    t.track('A');
    t.flush();
    await settle();
    t.track('B');
    t.flush();
    expect(net.requests).toHaveLength(1);
    expect(stored().map((m) => m.event)).toEqual(['A', 'B']);
    net.respond(() => ({ status: 200 }));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.accepted().map((m) => m.event)).toEqual(['A', 'B']);
  });

  it('sends the stored queue on the next page load', async () => {
    let hide = () => {};
    const t = createTally(testEnv(net, { onHide: (l) => void (hide = l) }));
    t.init({ writeKey: 'wk_test', host: 'https://c.test' });
    net.respond(() => 'network error');
    t.track('Before reload');
    t.flush();
    await settle();
    expect(stored()).toHaveLength(1);
    // a new page: the old one is hidden as it goes, then a new tracker over the same storage
    hide();
    net.respond(() => ({ status: 200 }));
    start();
    await settle();
    expect(net.accepted().map((m) => m.event)).toEqual(['Before reload']);
    expect(queues()).toEqual([]);
  });

  it('bounds the stored queue by count and by size, dropping the oldest and counting them', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = start({ maxQueue: 5, debug: true, flushAt: 100 });
    net.respond(() => ({ status: 503, retryAfter: 60 }));
    for (let i = 0; i < 8; i++) t.track(`E${i}`);
    t.flush();
    await settle();
    expect(stored().map((m) => m.event)).toEqual(['E3', 'E4', 'E5', 'E6', 'E7']);
    expect(warn).toHaveBeenCalledWith('[tally] queue full, dropped', 3);
    warn.mockRestore();

    clearBrowserState();
    const t2 = start({ maxQueueBytes: 5000, flushAt: 100 });
    for (let i = 0; i < 8; i++) t2.track(`F${i}`, { pad: 'x'.repeat(1000) });
    t2.flush();
    await settle();
    expect(localStorage.getItem(queues()[0]!)!.length).toBeLessThanOrEqual(5000);
    expect(stored().at(-1)!.event).toBe('F7');
  });

  it('survives a full storage quota: writes are guarded and the oldest give way', async () => {
    const quota = 6000;
    const full: KeyValueStorage = {
      getItem: (k) => localStorage.getItem(k),
      setItem(k, v) {
        if (v.length > quota) throw new DOMException('quota', 'QuotaExceededError');
        localStorage.setItem(k, v);
      },
      removeItem: (k) => localStorage.removeItem(k),
    };
    const t = start({ flushAt: 100 }, full);
    net.respond(() => ({ status: 503 }));
    for (let i = 0; i < 10; i++) t.track(`E${i}`, { pad: 'x'.repeat(1000) });
    expect(() => t.flush()).not.toThrow();
    await settle();
    const kept = stored().map((m) => m.event);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.at(-1)).toBe('E9');
    expect(localStorage.getItem(queues()[0]!)!.length).toBeLessThanOrEqual(quota);
  });
});

describe('two tabs', () => {
  it('two live tabs never both send the stored queue: each stored event is delivered once', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    net.respond(() => 'network error');
    const a = start();
    const b = start();
    a.track('From A');
    a.flush();
    b.track('From B');
    b.flush();
    await settle();
    expect(stored().map((m) => m.event).sort()).toEqual(['From A', 'From B']);
    // Slow answers: both tabs' retry timers fire while the first request is still in flight.
    net.delay(500);
    net.respond(() => ({ status: 200 }));
    await vi.advanceTimersByTimeAsync(3 * LEASE_MS);
    const events = net.accepted().map((m) => m.event);
    expect(events.sort()).toEqual(['From A', 'From B']);
    expect(queues()).toEqual([]);
  });

  it('each tab stores its failed batches under its own key, so two tabs failing at once lose nothing', async () => {
    net.respond(() => 'network error');
    const a = start();
    const b = start();
    a.track('From A');
    b.track('From B');
    a.flush();
    b.flush();
    await settle();
    expect(queues()).toHaveLength(2);
    expect(stored().map((m) => m.event).sort()).toEqual(['From A', 'From B']);
  });

  it("leaves a live tab's queue to it, and takes over the queue of a tab that went quiet", async () => {
    // What another tab stored a moment ago, and then closed (or crashed) with.
    localStorage.setItem(`${QUEUE}other-tab`, JSON.stringify([Date.now(), { type: 'track', event: 'Left behind', messageId: 'm-1', anonymousId: 'a' }]));
    start();
    await vi.advanceTimersByTimeAsync(LEASE_MS - 1);
    expect(net.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.accepted().map((m) => m.messageId)).toEqual(['m-1']);
    expect(queues()).toEqual([]);
  });

  it('takes over at once the queue of a tab that was hidden', async () => {
    localStorage.setItem(`${QUEUE}hidden-tab`, JSON.stringify([0, { type: 'track', event: 'Left behind', messageId: 'm-2', anonymousId: 'a' }]));
    start();
    await settle();
    expect(net.accepted().map((m) => m.messageId)).toEqual(['m-2']);
    expect(queues()).toEqual([]);
  });
});

describe('leaving the page', () => {
  it('on hide sends within the 64 KB keepalive budget and stores the rest for the next page', async () => {
    let hide = () => {};
    const t = createTally(testEnv(net, { onHide: (l) => void (hide = l) }));
    t.init({ writeKey: 'wk', flushAt: 1000 });
    for (let i = 0; i < 6; i++) t.track(`E${i}`, { blob: 'x'.repeat(20 * 1024) });
    hide();
    expect(net.requests).toHaveLength(1);
    expect(net.requests[0]!.keepalive).toBe(true);
    expect(net.requests[0]!.bytes).toBeLessThanOrEqual(64 * 1024);
    const sent = net.requests[0]!.body.batch.map((m) => m.event);
    expect(sent).toEqual(['E0', 'E1', 'E2']);
    // everything is stored before the request leaves; the 2xx answer takes what it carried back out
    expect(stored().map((m) => m.event)).toEqual(['E0', 'E1', 'E2', 'E3', 'E4', 'E5']);
    await settle();
    expect(stored().map((m) => m.event)).toEqual(['E3', 'E4', 'E5']);
  });

  it('events tracked just before the page goes, with the collector unreachable, are delivered by the next page', async () => {
    let hide = () => {};
    // The keepalive request outlives the page and fails there: the tracker never hears of it.
    net.respond(() => 'page gone');
    const t = createTally(testEnv(net, { onHide: (l) => void (hide = l) }));
    t.init({ writeKey: 'wk', host: 'https://c.test' });
    t.track('Last words');
    t.track('Goodbye');
    hide();
    await settle();
    expect(net.requests).toHaveLength(1);
    expect(net.requests[0]!.keepalive).toBe(true);
    // the next page load, with the collector back
    net.respond(() => ({ status: 200 }));
    start();
    await settle();
    expect(net.accepted().map((m) => m.event)).toEqual(['Last words', 'Goodbye']);
    expect(net.accepted().map((m) => m.messageId)).toEqual(net.requests[0]!.body.batch.map((m) => m.messageId));
    expect(queues()).toEqual([]);
  });

  it('a tab switch: the page stays, the keepalive request is answered 2xx, and nothing is left stored or sent twice', async () => {
    let hide = () => {};
    const t = createTally(testEnv(net, { onHide: (l) => void (hide = l) }));
    t.init({ writeKey: 'wk', host: 'https://c.test' });
    t.track('A');
    hide();
    await settle();
    expect(queues()).toEqual([]);
    start();
    await vi.advanceTimersByTimeAsync(3 * LEASE_MS);
    expect(net.requests).toHaveLength(1);
    expect(net.accepted().map((m) => m.event)).toEqual(['A']);
  });

  it('a tab switch while the collector fails: the stored copy is retried by the page itself', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    let hide = () => {};
    const t = createTally(testEnv(net, { onHide: (l) => void (hide = l) }));
    t.init({ writeKey: 'wk', host: 'https://c.test' });
    net.respond(() => 'network error');
    t.track('A');
    hide();
    await settle();
    expect(stored().map((m) => m.event)).toEqual(['A']);
    net.respond(() => ({ status: 200 }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.accepted().map((m) => m.event)).toEqual(['A']);
    expect(queues()).toEqual([]);
  });

  it('stores nothing but the decision on the way out when consent forbids storage', async () => {
    let hide = () => {};
    net.respond(() => 'page gone');
    const t = createTally(testEnv(net, { onHide: (l) => void (hide = l) }));
    t.init({ writeKey: 'wk', host: 'https://c.test', consent: { mode: 'opt-in' } });
    t.track('Early');
    t.deny();
    hide();
    await settle();
    // the consent change (a necessary event) goes out, and storage holds only the decision
    expect(net.requests.flatMap((r) => r.body.batch).map((m) => m.event)).toEqual(['Consent Updated']);
    expect(Object.keys(localStorage)).toEqual(['tally_consent']);
  });

  it('asks for keepalive on every request that fits the budget', () => {
    const t = start();
    t.track('A');
    t.flush();
    expect(net.requests[0]!.keepalive).toBe(true);
  });
});
