import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearBrowserState, fakeNetwork, settle, testEnv, type FakeNetwork } from '../test/helpers.js';
import { createTally, type Options } from './core.js';
import { QUEUE } from './delivery.js';
import type { Env } from './env.js';

let net: FakeNetwork;
const start = (o: Partial<Options> = {}, env: Partial<Env> = {}) => {
  const t = createTally(testEnv(net, env));
  t.init({ writeKey: 'wk', flushAt: 1, ...o });
  return t;
};
const storageKeys = () => Object.keys(localStorage);

beforeEach(() => {
  vi.useFakeTimers();
  clearBrowserState();
  net = fakeNetwork();
});
afterEach(() => vi.useRealTimers());

describe('opt-in mode', () => {
  it('sends nothing and writes no cookie or storage before a decision', async () => {
    const t = start({ consent: { mode: 'opt-in' } });
    t.identify('u1', { plan: 'pro' });
    t.track('Clicked');
    t.page();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.requests).toHaveLength(0);
    expect(document.cookie).toBe('');
    expect(storageKeys()).toEqual([]);
    expect(t.consent()).toMatchObject({ decided: false, categoryPreferences: { necessary: true, analytics: false } });
  });

  it('on grant sends the waiting events with their original timestamps, then the consent change', async () => {
    const t = start({ consent: { mode: 'opt-in' } });
    t.track('Early');
    const early = new Date().toISOString();
    await vi.advanceTimersByTimeAsync(60_000);
    t.grant('analytics');
    await settle();
    const sent = net.accepted();
    expect(sent.map((m) => m.event)).toEqual(['Early', 'Consent Updated']);
    expect(sent[0]!.timestamp).toBe(early);
    expect(sent[0]!.context.consent).toEqual({ categoryPreferences: { necessary: true, analytics: true, marketing: false }, category: 'analytics' });
    expect(sent[1]!.properties).toEqual({ necessary: true, analytics: true, marketing: false });
    expect(sent[1]!.context.consent.category).toBe('necessary');
    // now identity is kept
    expect(localStorage.getItem('tally_aid')).toBe(t.user()!.anonymousId);
    expect(document.cookie).toContain(`tally_aid=${t.user()!.anonymousId}`);
  });

  it('on deny discards the waiting events, sends only the consent change, and persists nothing', async () => {
    const t = start({ consent: { mode: 'opt-in' } });
    t.track('Early');
    t.deny();
    t.track('Later');
    await vi.advanceTimersByTimeAsync(10_000);
    const sent = net.accepted();
    expect(sent.map((m) => m.event)).toEqual(['Consent Updated']);
    expect(sent[0]!.properties).toEqual({ necessary: true, analytics: false, marketing: false });
    expect(document.cookie).toBe('');
    expect(storageKeys()).toEqual([]);
  });

  it('after a deny, a failed consent event is retried from memory, never from storage', async () => {
    net.respond(() => 'network error');
    const t = start({ consent: { mode: 'opt-in' } });
    t.deny();
    await settle();
    expect(storageKeys()).toEqual([]);
    net.respond(() => ({ status: 200 }));
    await vi.advanceTimersByTimeAsync(2000);
    expect(net.accepted().map((m) => m.event)).toEqual(['Consent Updated']);
  });

  it('a grant is remembered: the next page sends at once', async () => {
    start({ consent: { mode: 'opt-in' } }).grant();
    await settle();
    const t = start({ consent: { mode: 'opt-in' } });
    t.track('Next page');
    await settle();
    expect(net.accepted().map((m) => m.event)).toEqual(['Consent Updated', 'Next page']);
    expect(t.consent()!.decided).toBe(true);
  });
});

describe('opt-out mode', () => {
  it('sends by default, and a deny stops sending and wipes what was stored', async () => {
    const t = start();
    t.identify('u1');
    t.track('A');
    await settle();
    expect(localStorage.getItem('tally_uid')).toBe('u1');
    t.deny('analytics');
    t.track('B');
    await settle();
    expect(net.accepted().map((m) => m.event ?? m.type)).toEqual(['identify', 'A', 'Consent Updated']);
    expect(storageKeys()).toEqual([]);
    expect(document.cookie).toBe('');
  });

  it('a failed batch moves from storage to memory when consent is withdrawn', async () => {
    net.respond(() => 'network error');
    const t = start();
    t.track('A');
    await settle();
    expect(Object.keys(localStorage).filter((k) => k.startsWith(QUEUE)).map((k) => localStorage.getItem(k)).join()).toContain('"A"');
    t.deny();
    expect(storageKeys()).toEqual([]);
    net.respond(() => ({ status: 200 }));
    await vi.advanceTimersByTimeAsync(5000);
    expect(net.accepted().map((m) => m.event)).toEqual(['A', 'Consent Updated']);
  });

  it('events of a denied category are dropped, others still go', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = start({ debug: true });
    t.deny('marketing');
    t.track('Ad Clicked', {}, { category: 'marketing' });
    t.track('Page Read');
    await settle();
    expect(net.accepted().map((m) => m.event)).toEqual(['Consent Updated', 'Page Read']);
    expect(warn).toHaveBeenCalledWith('[tally] no consent: marketing', expect.objectContaining({ event: 'Ad Clicked' }));
    warn.mockRestore();
  });
});

describe('Global Privacy Control', () => {
  it('denies marketing by default and rides in context.consent.gpc', async () => {
    const t = start({}, { gpc: true });
    t.track('Ad Clicked', {}, { category: 'marketing' });
    t.track('Page Read');
    t.grant('marketing'); // a grant does not override GPC
    t.track('Ad Clicked Again', {}, { category: 'marketing' });
    await settle();
    const sent = net.accepted();
    expect(sent.map((m) => m.event)).toEqual(['Page Read', 'Consent Updated']);
    expect(sent[1]!.properties).toEqual({ necessary: true, analytics: true, marketing: false });
    expect(sent[0]!.context.consent).toEqual({
      categoryPreferences: { necessary: true, analytics: true, marketing: false },
      category: 'analytics',
      gpc: true,
    });
  });

  it('can deny analytics too: then nothing but necessary events is sent or stored', async () => {
    const t = start({ consent: { gpcDenies: ['analytics', 'marketing'] } }, { gpc: true });
    t.track('Page Read');
    await settle();
    expect(net.requests).toHaveLength(0);
    expect(storageKeys()).toEqual([]);
  });
});

describe('configurable categories', () => {
  it('uses the site’s categories in the state and in context.consent', async () => {
    const t = start({ consent: { categories: ['necessary', 'analytics', 'personalisation'], preferences: { personalisation: false } } });
    t.track('A');
    await settle();
    expect(net.accepted()[0]!.context.consent.categoryPreferences).toEqual({ necessary: true, analytics: true, personalisation: false });
  });
});
