import { decideConsent } from '@tally/schemas';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearBrowserState, fakeNetwork, settle, testEnv, type FakeNetwork } from '../test/helpers.js';
import { bridgeConsentMode, consentModePreferences } from './consent-mode.js';
import { createTally, type Options } from './core.js';

let net: FakeNetwork;
const w = window as unknown as { dataLayer?: unknown[]; tally?: unknown };
const start = (o: Partial<Options> = {}) => {
  const t = createTally(testEnv(net));
  t.init({ writeKey: 'wk', flushAt: 20, consent: { mode: 'opt-in' }, ...o });
  return t;
};
const sent = () => net.accepted().map((m) => m.event ?? m.type);
/** The site's own gtag snippet, as Google documents it: it pushes its `arguments`. */
function gtag(..._: unknown[]) {
  // eslint-disable-next-line prefer-rest-params
  (w.dataLayer ||= []).push(arguments);
}
const DENIED = { ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied', analytics_storage: 'denied' };

beforeEach(() => {
  vi.useFakeTimers();
  clearBrowserState();
  net = fakeNetwork();
  delete w.dataLayer;
});
afterEach(() => vi.useRealTimers());

describe('Consent Mode v2 signals → Tally categories', () => {
  it('a category is granted when all its signals are granted, denied when one is denied, left out while one is unset', () => {
    expect(consentModePreferences({ analytics_storage: 'granted', ad_storage: 'granted', ad_user_data: 'granted' })).toEqual({ analytics: true, marketing: true });
    expect(consentModePreferences({ analytics_storage: 'granted', ad_storage: 'granted', ad_user_data: 'denied' })).toEqual({ analytics: true, marketing: false });
    expect(consentModePreferences({ analytics_storage: 'denied', ad_storage: 'granted' })).toEqual({ analytics: false });
    expect(consentModePreferences({ analytics_storage: 'granted' }, { analytics: ['analytics_storage'] })).toEqual({ analytics: true });
  });
});

describe('the Consent Mode bridge over gtag’s data layer', () => {
  it('defaults are not a decision; the first update sends what waited under what it grants', async () => {
    gtag('consent', 'default', DENIED);
    const t = start();
    bridgeConsentMode(t);
    t.track('Early');
    t.flush();
    await settle();
    expect(net.requests).toHaveLength(0);
    expect(t.consent()!.decided).toBe(false);
    gtag('consent', 'update', { analytics_storage: 'granted' });
    t.track('Ad Seen', {}, { category: 'marketing' });
    t.flush();
    await settle();
    expect(sent()).toEqual(['Early', 'Consent Updated']);
    expect(net.accepted()[1]!.properties).toEqual({ necessary: true, analytics: true, marketing: false });
    expect(decideConsent('opt-in', net.accepted()[0]!.context).allowed).toBe(true);
  });

  it('an update already in the data layer (a returning visitor’s CMP ran first) applies at start; a later deny names no one; a repeat is passed once', async () => {
    gtag('consent', 'default', DENIED);
    gtag('consent', 'update', { ad_storage: 'granted', ad_user_data: 'granted', analytics_storage: 'granted' });
    const t = start();
    bridgeConsentMode(t);
    t.track('Hello');
    t.flush();
    await settle();
    expect(sent()).toEqual(['Consent Updated', 'Hello']);
    gtag('consent', 'update', { analytics_storage: 'denied' });
    gtag('consent', 'update', { analytics_storage: 'denied' });
    gtag('event', 'page_view');
    t.flush();
    await settle();
    expect(sent()).toEqual(['Consent Updated', 'Hello', 'Consent Updated']);
    expect(net.accepted()[2]).not.toHaveProperty('anonymousId');
    expect(t.consent()!.categoryPreferences).toEqual({ necessary: true, analytics: false, marketing: true });
  });

  it('another data layer name; other pushes pass through untouched; after stop nothing is passed', () => {
    const t = start();
    const layer: unknown[] = [];
    (w as Record<string, unknown>).tagLayer = layer;
    const stop = bridgeConsentMode(t, { dataLayer: 'tagLayer' });
    expect(layer.push({ event: 'gtm.js' })).toBe(1);
    expect([...layer]).toEqual([{ event: 'gtm.js' }]);
    stop();
    layer.push(['consent', 'update', { analytics_storage: 'granted', ad_storage: 'granted', ad_user_data: 'granted' }]);
    expect(t.consent()!.decided).toBe(false);
  });

  it('the script tag add-on passes the state to window.tally, queued while the tracker has not arrived', async () => {
    w.tally = [];
    gtag('consent', 'update', { analytics_storage: 'granted', ad_storage: 'denied', ad_user_data: 'denied' });
    vi.resetModules();
    await import('./consent-mode-tag.js');
    expect(w.tally).toEqual([['grant', 'analytics'], ['deny', 'marketing']]);
    delete w.tally;
  });
});
