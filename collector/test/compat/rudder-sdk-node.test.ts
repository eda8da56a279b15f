import Analytics from '@rudderstack/rudder-sdk-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backend, basic, testApp } from '../support/collector-app.js';
import { serveOnFreePort } from '../support/served-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../support/test-database.js';
import { expectStoredRows } from './support/stored-events.js';

describe(`@rudderstack/rudder-sdk-node against the collector over HTTP on ${testEngine}`, () => {
  let database: TestDatabase;
  let served: Awaited<ReturnType<typeof serveOnFreePort>>;
  const requests: { path: string; encoding: string | null; authorization: string | null }[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    const app = testApp(database);
    served = await serveOnFreePort({
      fetch: (request: Request, env: never) => {
        const { pathname } = new URL(request.url);
        requests.push({ path: pathname, encoding: request.headers.get('content-encoding'), authorization: request.headers.get('authorization') });
        return app.fetch(request, env);
      },
    });
  });
  afterAll(async () => {
    await served.close();
    await database.close();
  });

  test('track, identify, page, screen, group and alias, gzip-encoded to /v1/batch, arrive row by row', async () => {
    // Its data plane is the collector; everything else is the SDK's default (gzip on, /v1/batch).
    const client = new Analytics(backend.writeKey, { dataPlaneUrl: served.url, flushAt: 100, flushInterval: 60_000, retryCount: 0, logLevel: 'error' });
    const errors: unknown[] = [];
    const callback = (error?: unknown) => {
      if (error) errors.push(error);
    };
    const when = new Date('2026-02-03T04:05:06.789Z');
    client.track({ userId: 'rs-user-1', anonymousId: 'rs-anon-1', event: 'Order Completed', properties: { order_id: 'R-1', revenue: 30, currency: 'USD' }, timestamp: when, context: { ip: '203.0.113.5' } }, callback);
    client.identify({ userId: 'rs-user-1', traits: { email: 'rs@example.com' }, timestamp: when }, callback);
    client.page({ userId: 'rs-user-1', name: 'Pricing', properties: { url: 'https://shop.example/pricing?utm_medium=ads' }, timestamp: when }, callback);
    client.screen({ userId: 'rs-user-1', name: 'Home', properties: { tab: 'feed' }, timestamp: when }, callback);
    client.group({ userId: 'rs-user-1', groupId: 'rs-group', traits: { seats: 5 }, timestamp: when }, callback);
    client.alias({ userId: 'rs-user-1', previousId: 'rs-legacy-1' }, callback);
    await client.flush();
    expect(errors).toEqual([]);
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) expect(request).toEqual({ path: '/v1/batch', encoding: 'gzip', authorization: basic(backend.writeKey) });

    // The SDK makes the messageIds; each type was sent once, so the rows are found by type.
    const stored = await database.db.selectFrom('events').select(['type', 'message_id']).execute();
    expect(stored.map((row) => row.type).sort()).toEqual(['alias', 'group', 'identify', 'page', 'screen', 'track']);
    const idOf = (type: string) => stored.find((row) => row.type === type)!.message_id;

    const library = 'analytics-node'; // the name this SDK puts in context.library
    await expectStoredRows(database, [
      { message_id: idOf('track'), type: 'track', event: 'Order Completed', user_id: 'rs-user-1', anonymous_id: 'rs-anon-1', timestamp: when.toISOString(), properties: { order_id: 'R-1', revenue: 30 }, ip: '203.0.113.0', library },
      { message_id: idOf('identify'), type: 'identify', user_id: 'rs-user-1', traits: { email: 'rs@example.com' }, timestamp: when.toISOString(), library },
      { message_id: idOf('page'), type: 'page', name: 'Pricing', url: 'https://shop.example/pricing?utm_medium=ads', utm_medium: 'ads', library },
      { message_id: idOf('screen'), type: 'screen', name: 'Home', properties: { tab: 'feed' }, library },
      { message_id: idOf('group'), type: 'group', group_id: 'rs-group', traits: { seats: 5 }, library },
      { message_id: idOf('alias'), type: 'alias', user_id: 'rs-user-1', previous_id: 'rs-legacy-1', library },
    ]);
    const [alias] = await database.db.selectFrom('events').select(['original_timestamp', 'sent_at', 'received_at']).where('message_id', '=', idOf('alias')).execute();
    // Without a timestamp the SDK sends originalTimestamp and sentAt, both read from the same clock.
    expect(alias!.original_timestamp).not.toBeNull();
    expect(alias!.sent_at).not.toBeNull();
  });
});
