import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backend, testApp } from './support/collector-app.js';
import { serveOnFreePort } from './support/served-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

describe(`@segment/analytics-node against the collector on ${testEngine}`, () => {
  let database: TestDatabase;
  let served: Awaited<ReturnType<typeof serveOnFreePort>>;
  beforeAll(async () => {
    database = await createTestDatabase();
    served = await serveOnFreePort(testApp(database));
  });
  afterAll(async () => {
    await served.close();
    await database.close();
  });

  test('track, identify, page, group and alias arrive field by field', async () => {
    // A server SDK, so a server source: only those may send alias.
    const analytics = new Analytics({ writeKey: backend.writeKey, host: served.url, flushAt: 10, flushInterval: 50, maxRetries: 0 });
    const statuses: number[] = [];
    const errors: unknown[] = [];
    analytics.on('http_request', () => {});
    analytics.on('error', (error) => errors.push(error));
    const when = new Date('2026-02-03T04:05:06.789Z');
    const ip = '198.51.100.77';

    analytics.track({
      userId: 'user-42',
      anonymousId: 'anon-42',
      event: 'Order Completed',
      properties: { order_id: 'o-1', revenue: 42.5, currency: 'EUR', products: [{ product_id: 'p-1', price: 42.5, quantity: 1 }] },
      timestamp: when,
      context: { ip, page: { url: 'https://shop.example/checkout?utm_campaign=winter', path: '/checkout' } },
    });
    analytics.identify({ userId: 'user-42', traits: { email: 'ada@example.com', plan: 'pro' }, timestamp: when });
    analytics.page({ userId: 'user-42', name: 'Checkout', category: 'Shop', properties: { url: 'https://shop.example/checkout' }, timestamp: when });
    analytics.group({ userId: 'user-42', groupId: 'acme', traits: { employees: 12 }, timestamp: when });
    analytics.alias({ userId: 'user-42', previousId: 'legacy-42', timestamp: when });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    void statuses;

    const rows = await database.db.selectFrom('events').selectAll().where('source_id', '=', backend.id).orderBy('id').execute();
    expect(rows.map((r) => r.type)).toEqual(['track', 'identify', 'page', 'group', 'alias']);
    for (const row of rows) {
      expect(row.message_id).toBeTruthy();
      expect(row.user_id).toBe('user-42');
      expect(new Date(row.timestamp).toISOString()).toBe(when.toISOString());
      expect(new Date(row.original_timestamp!).toISOString()).toBe(when.toISOString());
      expect(row.sent_at).not.toBeNull();
      expect(row.context).toMatchObject({ library: { name: '@segment/analytics-node' } });
    }
    const [track, identify, page, group, alias] = rows;
    expect(track).toMatchObject({
      event: 'Order Completed',
      anonymous_id: 'anon-42',
      properties: { order_id: 'o-1', revenue: 42.5, currency: 'EUR', products: [{ product_id: 'p-1', price: 42.5, quantity: 1 }] },
      ip: '198.51.100.0',
      url: 'https://shop.example/checkout?utm_campaign=winter',
      path: '/checkout',
      utm_campaign: 'winter',
    });
    expect(track!.context).toMatchObject({ ip: '198.51.100.0' });
    expect(identify).toMatchObject({ traits: { email: 'ada@example.com', plan: 'pro' }, event: null });
    expect(page).toMatchObject({ name: 'Checkout', properties: { url: 'https://shop.example/checkout', category: 'Shop' }, url: 'https://shop.example/checkout' });
    expect(group).toMatchObject({ group_id: 'acme', traits: { employees: 12 } });
    expect(alias).toMatchObject({ previous_id: 'legacy-42' });
  });
});
