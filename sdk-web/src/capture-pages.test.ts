import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fakeNetwork } from '../test/helpers.js';
import { browserEnv } from './browser-env.js';
import { capturePages } from './capture-pages.js';
import { createTally } from './core.js';

const net = fakeNetwork();
const pages = () => net.accepted().filter((m) => m.type == 'page');
const tick = () => vi.advanceTimersByTimeAsync(0);

beforeAll(async () => {
  vi.useFakeTimers();
  localStorage.clear();
  vi.stubGlobal('fetch', net.fetch);
  navigator.sendBeacon = net.sendBeacon;
  history.replaceState(null, '', '/shop?utm_source=news&utm_medium=email&utm_campaign=spring&q=1');
  document.title = 'Shop';
  const t = createTally(browserEnv, [capturePages]);
  t.init({ writeKey: 'wk', host: 'https://c.test', flushAt: 1 });
  await tick();
});
afterAll(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('page capture', () => {
  it('sends a page view on load with title, path, search (with the UTM campaign the collector reads) and referrer', async () => {
    const [p] = pages();
    expect(pages()).toHaveLength(1);
    expect(p!.context.page).toEqual({
      path: '/shop',
      referrer: document.referrer,
      search: '?utm_source=news&utm_medium=email&utm_campaign=spring&q=1',
      title: 'Shop',
      url: location.href,
    });
    expect(p!.properties).toMatchObject({ path: '/shop', title: 'Shop' });
    expect(p!.context).toMatchObject({ userAgent: navigator.userAgent, locale: navigator.language });
    expect(p!.context.timezone).toBeTypeOf('string');
    expect(p!.context.screen).toHaveProperty('width');
  });

  it('sends one per SPA navigation (pushState, replaceState, popstate, hashchange), with the previous URL as referrer', async () => {
    const before = pages().length;
    const previous = location.href;
    history.pushState(null, '', '/cart');
    document.title = 'Cart';
    await tick();
    history.replaceState(null, '', '/cart?step=2');
    await tick();
    location.hash = '#reviews';
    dispatchEvent(new HashChangeEvent('hashchange'));
    await tick();
    history.pushState(null, '', '/checkout');
    await tick();
    history.back();
    await vi.waitFor(() => expect(location.pathname).toBe('/cart'));
    dispatchEvent(new PopStateEvent('popstate'));
    await tick();
    const sent = pages().slice(before);
    expect(sent.map((p) => p.context.page.path + p.context.page.search)).toEqual([
      '/cart',
      '/cart?step=2',
      '/cart?step=2',
      '/checkout',
      '/cart?step=2',
    ]);
    expect(sent[0]!.context.page.referrer).toBe(previous);
    expect(sent[0]!.context.page.title).toBe('Cart');
    expect(sent[3]!.context.page.referrer).toMatch(/#reviews$/);
  });

  it('never twice in a row for the same URL', async () => {
    const before = pages().length;
    history.pushState(null, '', '/same');
    await tick();
    history.replaceState({ x: 1 }, '', '/same');
    history.pushState(null, '', '/same');
    dispatchEvent(new PopStateEvent('popstate'));
    await tick();
    expect(pages().length - before).toBe(1);
  });
});
