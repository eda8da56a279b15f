import { afterEach, describe, expect, it, vi } from 'vitest';
import { clearBrowserState, fakeNetwork, settle, testEnv } from '../test/helpers.js';
import { browserEnv, send } from './browser-env.js';
import { createTally } from './core.js';
import { QUEUE } from './delivery.js';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('sending from a page', () => {
  it('posts a text/plain body with fetch and keepalive (no CORS pre-flight), and reads Retry-After', async () => {
    const fetch = vi.fn(async (_url: string, _init: RequestInit) => new Response(null, { status: 503, headers: { 'Retry-After': '7' } }));
    vi.stubGlobal('fetch', fetch);
    const keep = Object.getOwnPropertyDescriptor(Request.prototype, 'keepalive');
    if (!('keepalive' in Request.prototype)) Object.defineProperty(Request.prototype, 'keepalive', { configurable: true, get: () => false });
    try {
      await expect(send('https://c.test/v1/batch', '{"batch":[]}', true)).resolves.toEqual({ status: 503, retryAfter: 7 });
    } finally {
      if (!keep) delete (Request.prototype as { keepalive?: boolean }).keepalive;
    }
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('https://c.test/v1/batch');
    expect(init).toEqual({ method: 'POST', body: '{"batch":[]}', keepalive: true });
    // a string body is sent as text/plain;charset=UTF-8, a CORS-safelisted type
    expect(new Request(url, init).headers.get('content-type')).toBe('text/plain;charset=UTF-8');
  });

  it('uses sendBeacon where fetch cannot keep a request alive', async () => {
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    const beacon = vi.fn(() => true);
    navigator.sendBeacon = beacon;
    const keep = Object.getOwnPropertyDescriptor(Request.prototype, 'keepalive');
    if (keep) delete (Request.prototype as { keepalive?: boolean }).keepalive;
    try {
      // queued is not delivered: no answer ever comes
      expect(await Promise.race([send('https://c.test/v1/batch', 'x', true), Promise.resolve('no answer')])).toBe('no answer');
      beacon.mockReturnValueOnce(false);
      await expect(send('https://c.test/v1/batch', 'x', true)).resolves.toEqual({ status: 0 });
    } finally {
      if (keep) Object.defineProperty(Request.prototype, 'keepalive', keep);
    }
    expect(beacon).toHaveBeenCalledWith('https://c.test/v1/batch', 'x');
    expect(fetch).not.toHaveBeenCalled();
  });

  it('a batch sent by beacon as the page goes stays stored, and the next page delivers it', async () => {
    vi.useFakeTimers();
    clearBrowserState();
    const net = fakeNetwork();
    // The collector is unreachable: the beacon is queued by the browser, then fails unseen.
    net.respond(() => 'network error');
    navigator.sendBeacon = net.sendBeacon;
    const keep = Object.getOwnPropertyDescriptor(Request.prototype, 'keepalive');
    if (keep) delete (Request.prototype as { keepalive?: boolean }).keepalive;
    let hide = () => {};
    try {
      const t = createTally(testEnv(net, { send, onHide: (l) => void (hide = l) }));
      t.init({ writeKey: 'wk', host: 'https://c.test' });
      t.track('Left by beacon');
      hide();
      await settle();
    } finally {
      if (keep) Object.defineProperty(Request.prototype, 'keepalive', keep);
    }
    expect(net.sendBeacon).toHaveBeenCalledTimes(1);
    net.respond(() => ({ status: 200 }));
    createTally(testEnv(net)).init({ writeKey: 'wk', host: 'https://c.test' });
    await settle();
    expect(net.accepted().map((m) => m.event)).toEqual(['Left by beacon']);
    expect(Object.keys(localStorage).filter((k) => k.startsWith(QUEUE))).toEqual([]);
  });

  it('reports pagehide and visibilitychange to hidden, never unload', () => {
    const env = browserEnv({ writeKey: 'wk' });
    const hidden = vi.fn();
    env.onHide!(hidden);
    dispatchEvent(new Event('unload'));
    expect(hidden).not.toHaveBeenCalled();
    dispatchEvent(new Event('pagehide'));
    expect(hidden).toHaveBeenCalledTimes(1);
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    expect(hidden).toHaveBeenCalledTimes(2);
  });

  it('reads Global Privacy Control', () => {
    Object.defineProperty(navigator, 'globalPrivacyControl', { configurable: true, get: () => true });
    expect(browserEnv({ writeKey: 'wk' }).gpc).toBe(true);
  });
});
