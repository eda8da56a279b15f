import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, shop, testApp } from '../support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../support/test-database.js';

/*
 * The fields RudderStack's SDKs read from the document, taken from their own code: the JS SDK
 * refuses a document without `source.id`, an object `source.config` and an array
 * `source.destinations`, and stops when `source.enabled` is false; the Kotlin SDK decodes `id`,
 * `name`, `writeKey`, `enabled`, `workspaceId` and `updatedAt` without defaults; the Android
 * (Java) and iOS SDKs read `id`, `name`, `enabled`, `updatedAt`, `destinations` and
 * `config.statsCollection`.
 */
const REQUIRED_STRINGS = ['id', 'name', 'writeKey', 'workspaceId', 'updatedAt'] as const;

describe(`GET /sourceConfig (RudderStack's control plane) on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  const startedAt = new Date('2026-03-01T08:00:00.000Z');
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database, { now: () => startedAt });
  });
  afterAll(() => database.close());

  test.each([
    ['Android and iOS: /sourceConfig?p=android, Basic auth', '/sourceConfig?p=android&v=1.21.1', { authorization: basic(shop.writeKey) }],
    ['JS: /sourceConfig/ with writeKey in the query and Basic auth', `/sourceConfig/?p=npm&v=3.34.1&build=modern&writeKey=${shop.writeKey}`, { authorization: basic(shop.writeKey) }],
    ['the write key in the query only', `/sourceConfig/?writeKey=${shop.writeKey}`, {}],
  ])('%s: an enabled source with no destinations and no SDK error or metrics collection', async (_name, path, headers) => {
    const res = await app.request(path, { headers });
    expect(res.status).toBe(200);
    const document = (await res.json()) as { source: Record<string, unknown> };
    expect(document).toEqual({
      isHosted: false,
      source: {
        id: 'shop',
        name: 'shop',
        writeKey: shop.writeKey,
        workspaceId: 'tally',
        enabled: true,
        updatedAt: startedAt.toISOString(),
        config: { statsCollection: { errors: { enabled: false }, metrics: { enabled: false } } },
        destinations: [],
      },
    });
    for (const field of REQUIRED_STRINGS) expect(typeof document.source[field], field).toBe('string');
  });

  test('a missing or unknown write key gets 401 and no configuration', async () => {
    const missing = await app.request('/sourceConfig');
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const unknown = await app.request('/sourceConfig', { headers: { authorization: basic('not-a-key-of-ours') } });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual({ error: { code: 'unauthorized', message: 'unknown write key' } });
  });

  test("pages of the source's allowed origins may fetch it with their Authorization header; others get no grant", async () => {
    const preflight = await app.request('/sourceConfig/', {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization');
    const allowed = await app.request('/sourceConfig/', { headers: { origin: 'https://shop.example', authorization: basic(shop.writeKey) } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const other = await app.request('/sourceConfig/', { headers: { origin: 'https://news.example', authorization: basic(shop.writeKey) } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
