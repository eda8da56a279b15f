import { describe, expect, it, vi } from 'vitest';
import { fakeNetwork, routePageTo } from '../test/helpers.js';
import type { Tally } from './core.js';

const net = fakeNetwork();

routePageTo(net);

describe('script tag', () => {
  it('starts from data-* attributes: write key, host, and any option', async () => {
    const s = document.createElement('script');
    s.src = 'https://cdn.test/t.js';
    s.dataset.writeKey = 'wk_tag';
    s.dataset.host = 'https://c.test';
    s.dataset.flushAt = '2';
    s.dataset.consent = 'opt-in';
    Object.defineProperty(document, 'currentScript', { configurable: true, get: () => s });
    await import('./browser.js');
    const tally = (window as unknown as { tally: Tally }).tally;
    expect(tally.consent()).toMatchObject({ decided: false });
    await vi.advanceTimersByTimeAsync(0); // the page view, waiting for consent
    expect(net.requests).toHaveLength(0);
    tally.grant();
    await vi.advanceTimersByTimeAsync(0);
    const sent = net.accepted();
    expect(sent.map((m) => m.event ?? m.type)).toEqual(['page', 'Consent Updated']);
    expect(net.requests[0]!.url).toBe('https://c.test/v1/batch');
    expect(net.requests[0]!.body.writeKey).toBe('wk_tag');
  });

  it('no call on the global ever throws, even with bad input', () => {
    const tally = (window as unknown as { tally: Tally }).tally;
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => {
      tally.track('Cyclic', cyclic);
      tally.init(undefined as never);
      (tally.identify as (...a: unknown[]) => void)(Symbol('x'));
    }).not.toThrow();
  });

  it('honours GPC for every category but necessary unless data-gpc-denies narrows it (comma-separated, empty for none)', async () => {
    Object.defineProperty(navigator, 'globalPrivacyControl', { configurable: true, get: () => true });
    const load = async (gpcDenies?: string) => {
      localStorage.clear();
      delete (window as { tally?: unknown }).tally;
      const s = document.createElement('script');
      s.src = 'https://cdn.test/t.js';
      s.dataset.writeKey = 'wk_tag';
      s.dataset.capturePages = 'false';
      if (gpcDenies != null) s.dataset.gpcDenies = gpcDenies;
      Object.defineProperty(document, 'currentScript', { configurable: true, get: () => s });
      vi.resetModules();
      await import('./browser.js');
      return (window as unknown as { tally: Tally }).tally.consent()!.categoryPreferences;
    };
    try {
      expect(await load()).toEqual({ necessary: true, analytics: false, marketing: false });
      expect(await load('marketing')).toEqual({ necessary: true, analytics: true, marketing: false });
      expect(await load('analytics, marketing')).toEqual({ necessary: true, analytics: false, marketing: false });
      expect(await load('')).toEqual({ necessary: true, analytics: true, marketing: true });
    } finally {
      delete (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl;
    }
  });
});
