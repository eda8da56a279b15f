import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { basic, newsletter, postJson, shop, testApp, testConfig, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

/** A pino destination that keeps every line, parsed. */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines, raw };
}

describe(`HTTP security on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  const stored = async (messageId: string) => ({
    events: (await database.db.selectFrom('events').select('message_id').where('message_id', '=', messageId).execute()).length,
    rejected: (await database.db.selectFrom('rejected_events').select('message_id').where('message_id', '=', messageId).execute()).length,
  });

  describe('origin', () => {
    test('a text/plain POST from an origin the source does not allow gets 403 and stores nothing (events and rejected_events read)', async () => {
      const app = testApp(database);
      const event = trackEvent();
      const res = await app.request('/v1/batch', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
        body: JSON.stringify({ batch: [event], writeKey: shop.writeKey }),
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed');
      expect(await stored(event.messageId as string)).toEqual({ events: 0, rejected: 0 });
    });

    test('a header write key from a disallowed origin is refused before the body is read', async () => {
      const app = testApp(database);
      const event = trackEvent();
      const res = await postJson(app, '/v1/track', event, { origin: 'https://news.example', authorization: basic(shop.writeKey) });
      expect(res.status).toBe(403);
      expect(await stored(event.messageId as string)).toEqual({ events: 0, rejected: 0 });
    });

    test('without an Origin header (a server, an app) and from an allowed origin, events are stored', async () => {
      const app = testApp(database);
      const fromServer = trackEvent();
      const fromPage = trackEvent();
      expect((await postJson(app, '/v1/batch', { batch: [fromServer], writeKey: shop.writeKey })).status).toBe(200);
      expect((await postJson(app, '/v1/batch', { batch: [fromPage], writeKey: shop.writeKey }, { origin: 'https://shop.example' })).status).toBe(200);
      expect(await stored(fromServer.messageId as string)).toEqual({ events: 1, rejected: 0 });
      expect(await stored(fromPage.messageId as string)).toEqual({ events: 1, rejected: 0 });
    });
  });

  describe('per-write-key rate limit', () => {
    test('applies to a write key sent in the body (as the SDK sends it): past the burst 429, and nothing of the refused batch is stored', async () => {
      const app = testApp(database, { rateLimit: { perWriteKey: { ratePerSecond: 0.001, burst: 2 }, perIp: false } });
      const events = [trackEvent(), trackEvent(), trackEvent()];
      const statuses = [];
      for (const event of events) {
        const res = await app.request('/v1/batch', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ batch: [event], writeKey: shop.writeKey }) });
        statuses.push(res.status);
        if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(await stored(events[2]!.messageId as string)).toEqual({ events: 0, rejected: 0 });
      // Another source's key has a budget of its own.
      const other = trackEvent({ context: { consent: { categoryPreferences: { analytics: true } } } });
      expect((await postJson(app, '/v1/batch', { batch: [other], writeKey: newsletter.writeKey })).status).toBe(200);
    });

    test('an invented write key spends no real key budget: it gets 401 and the real key still gets through', async () => {
      const app = testApp(database, { rateLimit: { perWriteKey: { ratePerSecond: 0.001, burst: 1 }, perIp: false } });
      for (let i = 0; i < 5; i += 1) {
        expect((await postJson(app, '/v1/batch', { batch: [trackEvent()], writeKey: `invented-key-${i}` })).status).toBe(401);
      }
      expect((await postJson(app, '/v1/batch', { batch: [trackEvent()], writeKey: shop.writeKey })).status).toBe(200);
    });
  });

  describe('settings document', () => {
    const path = `/v1/projects/${shop.writeKey}/settings`;
    const hostile = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' };

    test('with a configured public URL: its host and protocol, publicly cacheable, whatever Host and X-Forwarded-Host say', async () => {
      const app = testApp(database, { config: { ...testConfig, publicUrl: 'https://collect.shop.example' } });
      const res = await app.request(`http://10.0.0.5:3000${path}`, { headers: hostile });
      expect(res.headers.get('cache-control')).toBe('public, max-age=300');
      const settings = (await res.json()) as { integrations: Record<string, Record<string, unknown>> };
      expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: 'collect.shop.example/v1', protocol: 'https' });
      expect(JSON.stringify(settings)).not.toContain('evil');
    });

    test('without one: never X-Forwarded-Host, and the answer from the Host header is not to be stored by any cache', async () => {
      const app = testApp(database);
      const res = await app.request(`http://10.0.0.5:3000${path}`, { headers: { 'x-forwarded-host': 'evil.example' } });
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(JSON.stringify(await res.json())).not.toContain('evil');
    });
  });

  describe('/metrics', () => {
    test('with a metrics token, answers 401 without it and the metrics with it', async () => {
      const app = testApp(database, { config: { ...testConfig, metricsToken: 'metrics-token-0123456789' } });
      expect((await app.request('/metrics')).status).toBe(401);
      expect((await app.request('/metrics', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
      const res = await app.request('/metrics', { headers: { authorization: 'Bearer metrics-token-0123456789' } });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('tally_events_accepted_total');
      // prom-client's process and event-loop metrics come with it.
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toContain('nodejs_eventloop_lag_seconds');
    });
  });

  describe('request log', () => {
    test('one JSON line per request with status, source, events accepted and rejected and duration, and no personal data', async () => {
      const { logger, lines, raw } = capturedLog();
      const app = testApp(database, { logger });
      const good = trackEvent({ userId: 'user-secret-42', anonymousId: 'anon-secret-42', context: { ip: '198.51.100.77' } });
      const bad = { type: 'track', messageId: 'bad-secret-msg', anonymousId: 'anon-secret-43' };
      const res = await postJson(app, '/v1/batch', { batch: [good, bad], writeKey: shop.writeKey }, {
        'user-agent': 'SecretAgent/1.0',
        'x-forwarded-for': '203.0.113.99',
        origin: 'https://shop.example',
      });
      expect(res.status).toBe(200);
      await app.request(`/v1/projects/${shop.writeKey}/settings`);
      await postJson(app, '/v1/batch', { batch: [trackEvent()], writeKey: 'unknown-secret-key' });

      const requests = lines.filter((line) => line.msg === 'request');
      expect(requests).toHaveLength(3);
      expect(requests[0]).toMatchObject({ method: 'POST', route: '/v1/batch', status: 200, source: 'shop', accepted: 1, duplicates: 0, rejected: 1 });
      expect(requests[0]!.durationMs).toEqual(expect.any(Number));
      expect(requests[1]).toMatchObject({ method: 'GET', route: '/v1/projects/:writeKey/settings', status: 200, source: 'shop' });
      expect(requests[2]).toMatchObject({ status: 401 });
      const everything = raw.join('\n');
      for (const secret of ['user-secret-42', 'anon-secret', 'bad-secret-msg', good.messageId as string, '198.51.100', '203.0.113', 'SecretAgent', shop.writeKey, 'unknown-secret-key']) {
        expect(everything).not.toContain(secret);
      }
    });

    test('an unexpected error is answered 500 and logged by its class and code, never its message', async () => {
      const { logger, lines, raw } = capturedLog();
      const app = testApp(database, { logger });
      app.get('/v1/unexpected', () => {
        throw Object.assign(new TypeError('cannot read ann@example.com of row 42'), { code: 'E_TEST' });
      });
      const res = await app.request('/v1/unexpected');
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
      expect(lines.filter((line) => line.msg === 'request')).toEqual([
        expect.objectContaining({ status: 500, route: '/v1/unexpected', error: { name: 'TypeError', code: 'E_TEST' } }),
      ]);
      expect(raw.join('\n')).not.toContain('ann@example.com');
    });
  });
});
