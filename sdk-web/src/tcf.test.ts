import { decideConsent, DEFAULT_CONSENT_CATEGORY } from '@tally/schemas';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearBrowserState, fakeNetwork, settle, testEnv, type FakeNetwork } from '../test/helpers.js';
import { installTcfCmp, type TcfCmpControls } from '../test/tcf-cmp.js';
import { createTally, type Options } from './core.js';
import { bridgeTcf, tcfPreferences, TCF_PURPOSES } from './tcf.js';

let net: FakeNetwork;
const w = window as unknown as { __tcfapi?: unknown; __cmp: TcfCmpControls; tally?: unknown };
const start = (o: Partial<Options> = {}) => {
  const t = createTally(testEnv(net));
  t.init({ writeKey: 'wk', flushAt: 1, consent: { mode: 'opt-in' }, ...o });
  return t;
};
const sent = () => net.accepted().map((m) => m.event ?? m.type);
const ANALYTICS = { 1: true, 8: true, 9: true };
const EVERYTHING = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [i + 1, true]));

beforeEach(() => {
  vi.useFakeTimers();
  clearBrowserState();
  net = fakeNetwork();
  installTcfCmp(window);
});
afterEach(() => {
  vi.useRealTimers();
  delete w.__tcfapi;
});

describe('TCF v2.2 purposes → Tally categories', () => {
  it('a category is granted when every purpose it needs has consent', () => {
    const tc = (consents: Record<number, boolean>, eventStatus = 'useractioncomplete') => ({ gdprApplies: true, eventStatus, purpose: { consents } });
    expect(tcfPreferences(tc(EVERYTHING))).toEqual({ analytics: true, marketing: true });
    expect(tcfPreferences(tc(ANALYTICS))).toEqual({ analytics: true, marketing: false });
    expect(tcfPreferences(tc({ 8: true, 9: true }))).toEqual({ analytics: false, marketing: false });
    expect(tcfPreferences(tc(ANALYTICS, 'tcloaded'))).toEqual({ analytics: true, marketing: false });
    expect(tcfPreferences(tc({ 1: true, 8: true }), { purposes: { analytics: [1, 8] } }), 'a mapping of its own').toEqual({ analytics: true });
    expect(TCF_PURPOSES.analytics).toEqual([1, 8, 9]);
  });

  it('no decision while the CMP’s window is up; where GDPR does not apply, every category is granted unless told to ignore it', () => {
    expect(tcfPreferences({ gdprApplies: true, eventStatus: 'cmpuishown', purpose: { consents: EVERYTHING } })).toBeUndefined();
    expect(tcfPreferences({ gdprApplies: false, eventStatus: 'tcloaded' })).toEqual({ analytics: true, marketing: true });
    expect(tcfPreferences({ gdprApplies: false }, { outsideGdpr: 'ignore' })).toBeUndefined();
  });
});

describe('the TCF bridge with a CMP that follows the spec', () => {
  it('opt-in: nothing goes out while the CMP asks; the visitor’s choice sends what waited, under the categories it grants', async () => {
    // Batched as a page batches: the grant's release and the deny land in the same batch.
    const t = start({ flushAt: 20 });
    bridgeTcf(t);
    t.track('Early');
    t.track('Ad Clicked', {}, { category: 'marketing' });
    w.__cmp.load(null);
    await settle();
    t.flush();
    expect(net.requests).toHaveLength(0);
    w.__cmp.choose(ANALYTICS);
    t.track('Ad Seen', {}, { category: 'marketing' });
    t.flush();
    await settle();
    expect(sent()).toEqual(['Early', 'Consent Updated']);
    expect(net.accepted()[1]!.properties).toEqual({ necessary: true, analytics: true, marketing: false });
    // The collector's rule, applied to what was sent, agrees.
    const early = net.accepted()[0]!;
    expect(decideConsent('opt-in', early.context).allowed).toBe(true);
    expect(decideConsent('opt-in', { consent: { ...early.context.consent, category: 'marketing' } }).allowed).toBe(false);
    expect(early.context.consent.category).toBe(DEFAULT_CONSENT_CATEGORY);
  });

  it('a returning visitor: the decision the CMP stored applies when it loads, and a later withdrawal is a deny that names no one', async () => {
    w.__cmp.load(EVERYTHING);
    const t = start();
    bridgeTcf(t);
    t.track('Hello');
    await settle();
    expect(sent()).toEqual(['Consent Updated', 'Hello']);
    w.__cmp.choose({});
    t.track('After');
    await settle();
    expect(sent()).toEqual(['Consent Updated', 'Hello', 'Consent Updated']);
    const deny = net.accepted()[2]!;
    expect(deny.properties).toEqual({ necessary: true, analytics: false, marketing: false });
    expect(deny).not.toHaveProperty('anonymousId');
  });

  it('the same decision told twice (each listener call) is passed once', async () => {
    w.__cmp.load(ANALYTICS);
    const t = start();
    bridgeTcf(t);
    w.__cmp.choose(ANALYTICS);
    await settle();
    expect(sent()).toEqual(['Consent Updated']);
  });

  it('a CMP that arrives after the bridge is found at the page’s load; stopping removes the listener', async () => {
    delete w.__tcfapi;
    const t = start();
    const stop = bridgeTcf(t);
    installTcfCmp(window);
    window.dispatchEvent(new Event('load'));
    expect(w.__cmp.listeners()).toBe(1);
    w.__cmp.load(ANALYTICS);
    await settle();
    expect(t.consent()!.categoryPreferences).toMatchObject({ analytics: true, marketing: false });
    stop();
    expect(w.__cmp.listeners()).toBe(0);
  });

  it('the script tag add-on passes decisions to window.tally, and queues them while the tracker has not arrived', async () => {
    const t = start();
    w.tally = [];
    vi.resetModules();
    await import('./tcf-tag.js');
    w.__cmp.load(ANALYTICS);
    expect(w.tally).toEqual([['grant', 'analytics'], ['deny', 'marketing']]);
    w.tally = t;
    w.__cmp.choose(EVERYTHING);
    await settle();
    expect(t.consent()!.categoryPreferences).toMatchObject({ analytics: true, marketing: true });
    delete w.tally;
  });
});
