import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearBrowserState, fakeNetwork, settle, testEnv, type FakeNetwork } from '../test/helpers.js';
import { parseMessage } from '@tally/schemas';
import { CONSENT, createTally, type Options } from './core.js';
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

  it('a mixed answer (a consent manager’s): the grant sends what waited, the deny of a category never allowed then discards none of it', async () => {
    const t = start({ consent: { mode: 'opt-in' }, flushAt: 20 });
    t.track('Early');
    t.track('Ad Seen', {}, { category: 'marketing' });
    t.grant('analytics');
    t.deny('marketing');
    t.flush();
    await settle();
    const sent = net.accepted();
    expect(sent.map((m) => m.event)).toEqual(['Early', 'Consent Updated']);
    expect(sent[1]!.properties).toEqual({ necessary: true, analytics: true, marketing: false });
    expect(t.consent()!.categoryPreferences).toEqual({ necessary: true, analytics: true, marketing: false });
  });

  it('a deny of a category that was allowed still discards what waits in the batch', async () => {
    const t = start({ consent: { mode: 'opt-in' }, flushAt: 20 });
    t.grant();
    t.track('Waiting');
    t.deny('marketing');
    t.flush();
    await settle();
    expect(net.accepted().map((m) => m.event)).toEqual(['Consent Updated']);
    expect(net.accepted()[0]!.properties).toMatchObject({ analytics: true, marketing: false });
  });

  it('on deny discards the waiting events, sends only the consent change, and stores nothing but the decision', async () => {
    const t = start({ consent: { mode: 'opt-in' } });
    t.track('Early');
    t.deny();
    t.track('Later');
    await vi.advanceTimersByTimeAsync(10_000);
    const sent = net.accepted();
    expect(sent.map((m) => m.event)).toEqual(['Consent Updated']);
    expect(sent[0]!.properties).toEqual({ necessary: true, analytics: false, marketing: false });
    expect(document.cookie).toBe('');
    expect(storageKeys()).toEqual([CONSENT]);
  });

  it('a deny is remembered: the next pages neither ask again nor send nor store anything', async () => {
    start({ consent: { mode: 'opt-in' } }).deny();
    await settle();
    for (let page = 0; page < 2; page++) {
      const t = start({ consent: { mode: 'opt-in' } });
      t.identify('u1', { email: 'ada@example.com' });
      t.track('Next page');
      expect(t.consent()).toMatchObject({ decided: true, categoryPreferences: { analytics: false, marketing: false } });
    }
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.accepted().map((m) => m.event)).toEqual(['Consent Updated']);
    expect(storageKeys()).toEqual([CONSENT]);
    expect(document.cookie).toBe('');
  });

  it('after a deny, a failed consent event is retried from memory, never from storage', async () => {
    net.respond(() => 'network error');
    const t = start({ consent: { mode: 'opt-in' } });
    t.deny();
    await settle();
    expect(storageKeys()).toEqual([CONSENT]);
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
  it('sends by default, and a deny stops sending and wipes what was stored but the decision', async () => {
    const t = start();
    t.identify('u1');
    t.track('A');
    await settle();
    expect(localStorage.getItem('tally_uid')).toBe('u1');
    t.deny('analytics');
    t.track('B');
    await settle();
    expect(net.accepted().map((m) => m.event ?? m.type)).toEqual(['identify', 'A', 'Consent Updated']);
    expect(storageKeys()).toEqual([CONSENT]);
    expect(JSON.parse(localStorage.getItem(CONSENT)!)).toEqual({ necessary: true, analytics: false, marketing: true });
    expect(document.cookie).toBe('');
  });

  it('a deny is remembered: the next page and a reload send nothing and store no identifier', async () => {
    start().deny();
    await settle();
    for (let page = 0; page < 2; page++) {
      const t = start();
      t.page();
      t.identify('u1');
      t.track('Next page');
      expect(t.consent()).toMatchObject({ decided: true, categoryPreferences: { analytics: false } });
    }
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.accepted().map((m) => m.event ?? m.type)).toEqual(['Consent Updated']);
    expect(storageKeys()).toEqual([CONSENT]);
    expect(document.cookie).toBe('');
  });

  it('a deny is sent with no identifier, as a message the wire format accepts', async () => {
    const t = start();
    t.identify('u1', { email: 'ada@example.com' });
    t.deny();
    t.grant();
    await settle();
    const [identify, deny, grant] = net.accepted();
    expect(identify).toMatchObject({ type: 'identify', userId: 'u1' });
    expect(deny).toMatchObject({ event: 'Consent Updated', properties: { analytics: false } });
    expect(deny).not.toHaveProperty('anonymousId');
    expect(deny).not.toHaveProperty('userId');
    expect(parseMessage(deny).success).toBe(true);
    // a grant names the visitor again
    expect(grant).toMatchObject({ event: 'Consent Updated', userId: 'u1', anonymousId: t.user()!.anonymousId });
  });

  it('nothing recorded before a deny goes out: not the batch in memory, not the stored retry queue', async () => {
    const t = start({ flushAt: 20 });
    t.track('Waiting in memory');
    t.deny();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.accepted().map((m) => m.event)).toEqual(['Consent Updated']);

    net.respond(() => 'network error');
    t.grant();
    t.track('Failed once');
    t.flush();
    await settle();
    expect(Object.keys(localStorage).some((k) => k.startsWith(QUEUE))).toBe(true);
    t.deny();
    expect(storageKeys()).toEqual([CONSENT]);
    net.respond(() => ({ status: 200 }));
    await vi.advanceTimersByTimeAsync(120_000);
    expect(net.accepted().map((m) => m.event)).toEqual(['Consent Updated', 'Consent Updated']);
    expect(net.accepted()[1]).not.toHaveProperty('anonymousId');
  });

  it('a request in flight at the deny that then fails is not retried', async () => {
    net.delay(100);
    net.respond((r) => (r.body.batch.some((m) => m.event == 'In flight') ? { status: 503 } : { status: 200 }));
    const t = start();
    t.track('In flight');
    t.deny();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(net.requests.flatMap((r) => r.body.batch).map((m) => m.event)).toEqual(['In flight', 'Consent Updated']);
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
  it('denies every category but necessary by default: nothing else is sent or stored, whatever a grant says', async () => {
    const t = start({}, { gpc: true });
    t.identify('u1');
    t.track('Page Read');
    t.track('Ad Clicked', {}, { category: 'marketing' });
    t.grant(); // a grant does not override GPC
    t.track('Page Read Again');
    await settle();
    expect(t.consent()!.categoryPreferences).toEqual({ necessary: true, analytics: false, marketing: false });
    expect(net.accepted().map((m) => m.event ?? m.type)).toEqual(['Consent Updated']);
    expect(net.accepted()[0]).not.toHaveProperty('anonymousId');
    expect(net.accepted()[0]).not.toHaveProperty('userId');
    expect(document.cookie).toBe('');
    expect(storageKeys().filter((k) => k != CONSENT)).toEqual([]);
  });

  it('a site may narrow it to some categories (gpcDenies), and the state rides in context.consent.gpc', async () => {
    const t = start({ consent: { gpcDenies: ['marketing'] } }, { gpc: true });
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

  it('or ignore it (gpcDenies: [])', async () => {
    const t = start({ consent: { gpcDenies: [] } }, { gpc: true });
    t.track('Ad Clicked', {}, { category: 'marketing' });
    await settle();
    expect(net.accepted().map((m) => m.event)).toEqual(['Ad Clicked']);
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
