import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backend, basic, newsletter, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

describe(`HTTP surface on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database, { trackerScript: '(()=>{window.tally=1})();' });
  });
  afterAll(() => database.close());

  const row = (messageId: string) =>
    database.db.selectFrom('events').selectAll().where('message_id', '=', messageId).executeTakeFirstOrThrow();

  const singles = [
    ['track', { event: 'Clicked', properties: { button: 'buy' } }],
    ['identify', { userId: 'user-9', traits: { plan: 'pro' } }],
    ['page', { name: 'Home', properties: { url: 'https://shop.example/?utm_source=ads', path: '/', referrer: 'https://ads.example/' } }],
    ['screen', { name: 'Cart' }],
    ['group', { userId: 'user-9', groupId: 'acme', traits: { seats: 5 } }],
    ['alias', { userId: 'user-9', previousId: 'old-9', anonymousId: undefined }],
  ] as const;

  for (const [type, fields] of singles) {
    for (const path of [`/v1/${type}`, `/v1/${type[0]}`]) {
      test(`POST ${path} stores one ${type} message, its type taken from the path`, async () => {
        const messageId = `${path}-${Date.now()}-${Math.random()}`;
        // alias is accepted only from a server source.
        const body = { messageId, anonymousId: 'anon-s', ...fields, writeKey: type === 'alias' ? backend.writeKey : shop.writeKey };
        const res = await postJson(app, path, body);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
        const stored = await row(messageId);
        expect(stored.type).toBe(type);
        expect(stored.context).not.toHaveProperty('writeKey');
        if (type === 'track') expect(stored).toMatchObject({ event: 'Clicked', properties: { button: 'buy' } });
        if (type === 'identify') expect(stored).toMatchObject({ user_id: 'user-9', traits: { plan: 'pro' } });
        if (type === 'page') expect(stored).toMatchObject({ name: 'Home', url: 'https://shop.example/?utm_source=ads', path: '/', utm_source: 'ads' });
        if (type === 'screen') expect(stored).toMatchObject({ name: 'Cart' });
        if (type === 'group') expect(stored).toMatchObject({ group_id: 'acme', traits: { seats: 5 } });
        if (type === 'alias') expect(stored).toMatchObject({ user_id: 'user-9', previous_id: 'old-9' });
      });
    }
  }

  test('a call without messageId, as Segment\'s HTTP API allows, is stored once however often it is retried', async () => {
    // The HTTP API documentation's own example: no messageId, no type.
    const call = { userId: 'user-doc-1', event: 'Item Purchased', properties: { name: 'Leap to Conclusions Mat', revenue: 14.99 }, timestamp: '2026-03-01T10:00:00.000Z' };
    const first = await postJson(app, '/v1/track', call, { authorization: basic(shop.writeKey) });
    expect(await first.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    const retry = await postJson(app, '/v1/track', call, { authorization: basic(shop.writeKey) });
    expect(await retry.json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
    const rows = await database.db.selectFrom('events').select(['message_id', 'event']).where('user_id', '=', 'user-doc-1').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.message_id).toMatch(/^derived-[0-9a-f]{32}$/);
    // Another call is another event.
    const other = await postJson(app, '/v1/track', { ...call, timestamp: '2026-03-01T10:00:01.000Z' }, { authorization: basic(shop.writeKey) });
    expect(await other.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
  });

  test('POST /v1/b is the batch endpoint under its short name', async () => {
    const event = trackEvent();
    const res = await postJson(app, '/v1/b', { batch: [event], writeKey: shop.writeKey });
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
  });

  test('a single message that fails its schema is kept in rejected_events and named in the answer', async () => {
    const res = await postJson(app, '/v1/track', { messageId: 'no-event-name', anonymousId: 'a' }, { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ accepted: 0, rejected: [{ index: 0, messageId: 'no-event-name', reason: 'schema' }] });
  });

  describe('CORS', () => {
    test('a pre-flight from an allowed origin is granted', async () => {
      const res = await app.request('/v1/batch', {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
    });

    test('a pre-flight from a disallowed origin gets no grant', async () => {
      const res = await app.request('/v1/batch', {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });

    test("a request from its source's origin is granted; the same origin on another source's key is not", async () => {
      const fromShop = await postJson(app, '/v1/batch', { batch: [trackEvent()], writeKey: shop.writeKey }, { origin: 'https://shop.example' });
      expect(fromShop.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      expect(fromShop.headers.get('vary')).toContain('Origin');
      const granted = trackEvent({ context: { consent: { categoryPreferences: { analytics: true } } } });
      const crossed = await postJson(app, '/v1/batch', { batch: [granted], writeKey: newsletter.writeKey }, { origin: 'https://shop.example' });
      expect(crossed.status).toBe(403);
      expect(crossed.headers.get('access-control-allow-origin')).toBeNull();
    });

    test('a request from a disallowed origin gets no grant', async () => {
      const res = await postJson(app, '/v1/batch', { batch: [trackEvent()], writeKey: shop.writeKey }, { origin: 'https://evil.example' });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-expose-headers')).toBeNull();
    });

    test('a granted response lets the page read Retry-After, so that a tracker on another origin can honour a 429', async () => {
      const limited = testApp(database, { rateLimit: { perWriteKey: { ratePerSecond: 1, burst: 1 }, perIp: false } });
      const send = () => postJson(limited, '/v1/batch', { batch: [trackEvent()], writeKey: shop.writeKey }, { origin: 'https://shop.example', authorization: basic(shop.writeKey) });
      const first = await send();
      expect(first.status).toBe(200);
      expect(first.headers.get('access-control-expose-headers')).toBe('Retry-After');
      const refused = await send();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      expect(refused.headers.get('access-control-expose-headers')).toBe('Retry-After');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    });
  });

  describe('settings document', () => {
    test('points Segment SDKs at this collector', async () => {
      const res = await app.request(`http://collect.example:8080/v1/projects/${shop.writeKey}/settings`, {
        headers: { origin: 'https://shop.example' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      const settings = (await res.json()) as { integrations: Record<string, Record<string, unknown>>; plan: unknown };
      expect(settings.integrations['Segment.io']).toMatchObject({ apiKey: shop.writeKey, apiHost: 'collect.example:8080/v1', protocol: 'http' });
      expect(settings.plan).toBeDefined();
    });

    test('an unknown write key → 404', async () => {
      const res = await app.request('/v1/projects/nope/settings');
      expect(res.status).toBe(404);
    });
  });

  describe('health, readiness, metrics', () => {
    test('GET /healthz and /readyz answer 200 while the database answers', async () => {
      expect((await app.request('/healthz')).status).toBe(200);
      const ready = await app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
    });

    test('GET /readyz answers 503 when the database does not', async () => {
      const broken = testApp({ ...database, ping: async () => false });
      const res = await broken.request('/readyz');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
    });

    test('GET /metrics counts accepted, rejected by reason, duplicates and write batches in Prometheus format', async () => {
      const fresh = testApp(database);
      const event = trackEvent();
      await postJson(fresh, '/v1/batch', { batch: [event, { ...event }, { type: 'track' }], writeKey: shop.writeKey });
      const res = await fresh.request('/metrics');
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toContain('tally_events_accepted_total{source="shop"} 1');
      expect(text).toContain('tally_events_duplicate_total{source="shop"} 1');
      expect(text).toContain('tally_events_rejected_total{reason="schema"} 1');
      expect(text).toMatch(/tally_write_batch_size_count 1\n/);
      expect(text).toMatch(/# TYPE tally_write_duration_seconds histogram/);
      expect(text).toContain('tally_write_queue_depth 0');
      expect(text).toContain('tally_requests_total{status="200"} 1');
    });
  });

  describe('tracker script', () => {
    test('GET /t.js serves the script with an ETag and answers 304 to a matching If-None-Match', async () => {
      const res = await app.request('/t.js');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('javascript');
      expect(res.headers.get('cache-control')).toContain('max-age');
      expect(await res.text()).toBe('(()=>{window.tally=1})();');
      const etag = res.headers.get('etag')!;
      const again = await app.request('/tally.js', { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
    });

    test('without a built tracker, 404 says to build it', async () => {
      const unbuilt = testApp(database, { trackerScript: null });
      const res = await unbuilt.request('/t.js');
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('pnpm build');
    });
  });

  test('the right-to-be-forgotten admin route is mounted and wants the admin key', async () => {
    const res = await app.request('/v1/admin/customers/user-9', { method: 'DELETE', headers: { origin: 'https://shop.example' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const unknown = await app.request('/v1/admin/customers/nobody-at-all', {
      method: 'DELETE',
      headers: { authorization: 'Bearer admin-key-for-tests' },
    });
    expect(unknown.status).toBe(404);
  });

  test('an unknown route → 404 in the error shape', async () => {
    const res = await app.request('/v2/nothing');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
