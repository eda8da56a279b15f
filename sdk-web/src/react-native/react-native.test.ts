// @vitest-environment node
// The React Native entry under Node, with fakes of AsyncStorage and AppState, against the real collector.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { shop, testApp } from '../../../collector/test/support/collector-app.js';
import { serveOnFreePort } from '../../../collector/test/support/served-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../../../collector/test/support/test-database.js';
import { fakeAppState, fakeAsyncStorage, fakeNavigationContainer, iPhone } from '../../test/react-native-fakes.js';
import { KEYS } from './async-storage.js';
import { createReactNativeTally, trackNavigationState } from './index.js';

/** How long a wait for the collector may take: PGlite on a busy machine is slow. */
const eventually = { timeout: 15_000 };

describe(`the React Native entry against the collector on ${testEngine}`, () => {
  let database: TestDatabase;
  let served: Awaited<ReturnType<typeof serveOnFreePort>>;
  let down: Server;
  let downUrl: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    served = await serveOnFreePort(testApp(database));
    // A collector whose database is down: 503 and "retry in an hour", so nothing retries during the test.
    down = createServer((_, res) => res.writeHead(503, { 'retry-after': '3600' }).end('{"error":{"code":"unavailable"}}'));
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    downUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => down.close(r));
    await served.close();
    await database.close();
  });

  const rows = (anonymousId: string) =>
    database.db.selectFrom('events').selectAll().where('anonymous_id', '=', anonymousId).orderBy('timestamp').orderBy('id').execute();

  it('stores screens from the navigation container, tracks and identifies with the app, device and OS context, sent when the app goes to the background', async () => {
    const storage = fakeAsyncStorage();
    const appState = fakeAppState();
    const tally = createReactNativeTally();
    // Calls made before init (or while storage loads) wait and replay in order.
    tally.track('App Opened', { from_background: false });
    const started = tally.init({
      writeKey: shop.writeKey,
      host: served.url,
      flushAt: 100,
      flushInterval: 60_000,
      storage,
      appState,
      context: { app: { name: 'Shop', version: '3.2.0', build: '412', namespace: 'com.example.shop' }, device: { manufacturer: 'Apple', model: 'iPhone15,2' } },
      modules: iPhone,
    });
    const nav = fakeNavigationContainer('Home');
    nav.mount(trackNavigationState(tally, nav.ref, { properties: (r) => (r.name == 'Product' ? { product_id: (r.params as { id: string }).id } : undefined) }));
    nav.rerender();
    nav.navigate('Product', { id: 'p-1' });
    nav.navigate('Product', { id: 'p-2' });
    tally.productAdded({ product_id: 'p-2', price: 12.5, quantity: 1, currency: 'EUR' });
    tally.identify('user-rn-1', { plan: 'pro' });
    await started;
    const anonymousId = tally.user()!.anonymousId;
    expect(await rows(anonymousId)).toEqual([]);

    // iOS passes through `inactive` on its way to `background`.
    appState.moveTo('inactive');
    appState.moveTo('background');
    await vi.waitFor(async () => expect(await rows(anonymousId)).toHaveLength(6), eventually);

    const stored = await rows(anonymousId);
    expect(stored.map((r) => [r.type, r.event ?? r.name])).toEqual([
      ['track', 'App Opened'],
      ['screen', 'Home'],
      ['screen', 'Product'],
      ['screen', 'Product'],
      ['track', 'Product Added'],
      ['identify', null],
    ]);
    expect(stored.map((r) => r.properties)).toMatchObject([{}, {}, { product_id: 'p-1' }, { product_id: 'p-2' }, { product_id: 'p-2' }, {}]);
    expect(new Set(stored.map((r) => r.message_id)).size).toBe(6);
    // Every call carries the identity of the moment it was made: the identify links what came before.
    expect(stored.at(-1)).toMatchObject({ user_id: 'user-rn-1', traits: { plan: 'pro' } });
    expect(new Set(stored.map((r) => r.customer_id)).size).toBe(1);
    const { locale, timeZone } = Intl.DateTimeFormat().resolvedOptions();
    for (const r of stored) {
      expect(r.source_id).toBe(shop.id);
      // The columns analysts group by come from the OS the app states, not from the HTTP library's user agent.
      expect(r).toMatchObject({ os: 'iOS', os_version: '17.4', device_type: 'mobile', browser: null });
      expect(r.context).toMatchObject({
        app: { name: 'Shop', version: '3.2.0', build: '412', namespace: 'com.example.shop' },
        device: { type: 'ios', manufacturer: 'Apple', model: 'iPhone15,2' },
        os: { name: 'iOS', version: '17.4' },
        screen: { width: 393, height: 852, density: 3 },
        locale,
        timezone: timeZone,
        library: { name: '@tally/sdk-web', version: '0.1.0' },
        consent: { categoryPreferences: { necessary: true, analytics: true, marketing: true } },
      });
    }

    // In the sessions view, the app's session begins on its first screen.
    const [session] = await database.db.selectFrom('sessions').selectAll().where('customer_id', '=', stored[0]!.customer_id!).execute();
    expect(session).toMatchObject({ landing_screen: 'Home', landing_page: null });
    expect([Number(session!.screenviews), Number(session!.pageviews), Number(session!.events)]).toEqual([3, 0, 6]);

    // The identity is kept in AsyncStorage, and nothing waits there once delivered.
    await vi.waitFor(() => {
      expect(storage.data.get('tally_aid')).toBe(anonymousId);
      expect(storage.data.get('tally_uid')).toBe('user-rn-1');
      expect(JSON.parse(storage.data.get(KEYS)!).filter((k: string) => k.startsWith('tally_queue.'))).toEqual([]);
    }, eventually);
  });

  it('keeps the anonymousId, the userId and a deny through a restart; after the deny nothing is sent', async () => {
    const storage = fakeAsyncStorage();
    const first = createReactNativeTally();
    // An init without a writeKey starts nothing and does not stand in the way of the right one.
    await first.init({ host: served.url, storage } as unknown as Parameters<typeof first.init>[0]);
    expect(first.user()).toBeUndefined();
    await first.init({ writeKey: shop.writeKey, host: served.url, flushAt: 100, storage });
    first.identify('user-rn-2');
    // Nothing recorded before a deny goes out.
    first.deny('analytics');
    const { anonymousId } = first.user()!;
    // Neither the GPC signal nor a page exists in an app: the defaults are opt-out's.
    expect(first.consent()).toMatchObject({ gpc: false, decided: true, categoryPreferences: { analytics: false, marketing: true } });
    await vi.waitFor(() => expect(storage.data.get('tally_consent')).toBe(JSON.stringify({ necessary: true, analytics: false, marketing: true })), eventually);

    const second = createReactNativeTally();
    await second.init({ writeKey: shop.writeKey, host: served.url, flushAt: 1, storage });
    // A deny of analytics forgets the identity, which is stored only while analytics is allowed.
    expect(second.consent()).toMatchObject({ decided: true, categoryPreferences: { analytics: false } });
    expect(second.user()!.anonymousId).not.toBe(anonymousId);
    second.track('Screen Scrolled');
    second.grant('analytics');
    second.identify('user-rn-2');
    second.track('Checkout Started', { order_id: 'o-rn' });
    const aid = second.user()!.anonymousId;
    await vi.waitFor(async () => expect((await rows(aid)).map((r) => r.event ?? r.type)).toEqual(['Consent Updated', 'identify', 'Checkout Started']), eventually);
    expect(await rows(anonymousId)).toEqual([]);
    // The grant is remembered: a third run reads the same identity back.
    await vi.waitFor(() => expect([storage.data.get('tally_aid'), storage.data.get('tally_uid')]).toEqual([aid, 'user-rn-2']), eventually);
    const third = createReactNativeTally();
    await third.init({ writeKey: shop.writeKey, host: served.url, storage });
    expect(third.user()).toMatchObject({ anonymousId: aid, userId: 'user-rn-2' });
    expect(third.consent()!.categoryPreferences.analytics).toBe(true);
  });

  it('keeps in AsyncStorage what could not be sent as the app went to the background, and the next start delivers it once', async () => {
    const storage = fakeAsyncStorage();
    const appState = fakeAppState();
    const first = createReactNativeTally();
    await first.init({ writeKey: shop.writeKey, host: downUrl, flushAt: 100, flushInterval: 60_000, storage, appState });
    for (let i = 0; i < 5; i++) first.track('Article Read', { i });
    appState.moveTo('background');
    // The app is then killed: what it knew is only in AsyncStorage.
    await vi.waitFor(() => {
      const queues = [...storage.data.keys()].filter((k) => k.startsWith('tally_queue.'));
      expect(queues).toHaveLength(1);
      expect(JSON.parse(storage.data.get(queues[0]!)!).slice(1)).toHaveLength(5);
    }, eventually);
    const { anonymousId } = first.user()!;

    const second = createReactNativeTally();
    await second.init({ writeKey: shop.writeKey, host: served.url, storage, appState: fakeAppState() });
    expect(second.user()!.anonymousId).toBe(anonymousId);
    await vi.waitFor(async () => expect(await rows(anonymousId)).toHaveLength(5), eventually);
    await vi.waitFor(() => expect([...storage.data.keys()].filter((k) => k.startsWith('tally_queue.'))).toEqual([]), eventually);
    expect((await rows(anonymousId)).map((r) => (r.properties as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
  });

  it('still delivers when AsyncStorage fails: a storage error loses no event', async () => {
    const storage = fakeAsyncStorage();
    storage.fail();
    const tally = createReactNativeTally();
    await tally.init({ writeKey: shop.writeKey, host: served.url, flushAt: 2, storage });
    tally.screen('Home');
    tally.track('Signed Up');
    const { anonymousId } = tally.user()!;
    await vi.waitFor(async () => expect((await rows(anonymousId)).map((r) => r.type)).toEqual(['screen', 'track']), eventually);
    expect(storage.data.size).toBe(0);
  });
});
