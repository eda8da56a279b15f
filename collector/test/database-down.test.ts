import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { cuttableDatabase, type CuttableDatabase } from './support/cuttable-database.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

describe(`database unreachable on ${testEngine}`, () => {
  let target: TestDatabase;
  let link: CuttableDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    target = await createTestDatabase();
    link = await cuttableDatabase(target);
    app = testApp(target, { database: link.database });
  });
  afterAll(async () => {
    await link.close();
    await target.close();
  });

  const stored = async (ids: string[]) =>
    (await target.db.selectFrom('events').select('message_id').where('message_id', 'in', ids).execute()).length;

  test('answers 503 with Retry-After and acknowledges nothing; once the database is back, accepts again', async () => {
    const before = Array.from({ length: 3 }, () => trackEvent());
    const ok = await postJson(app, '/v1/batch', { batch: before }, { authorization: basic(shop.writeKey) });
    expect(await ok.json()).toMatchObject({ accepted: 3 });

    await link.cut();
    const during = [...Array.from({ length: 4 }, () => trackEvent()), { type: 'track', messageId: 'bad-while-down' }];
    const refused = await postJson(app, '/v1/batch', { batch: during }, { authorization: basic(shop.writeKey) });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { code: 'database_unavailable' } });
    expect((await app.request('/readyz')).status).toBe(503);
    expect((await app.request('/healthz')).status).toBe(200);

    await link.restore();
    const ids = during.map((e) => e.messageId as string);
    // Nothing of the refused request reached either table.
    expect(await stored(ids)).toBe(0);
    const rejected = await target.db.selectFrom('rejected_events').select('id').where('message_id', '=', 'bad-while-down').execute();
    expect(rejected).toEqual([]);

    const retried = await postJson(app, '/v1/batch', { batch: during }, { authorization: basic(shop.writeKey) });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ accepted: 4, duplicates: 0, rejected: [{ index: 4, reason: 'schema' }] });
    expect(await stored(ids)).toBe(4);
    expect((await app.request('/readyz')).status).toBe(200);
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toMatch(/tally_write_failures_total\{kind="unavailable"\} [1-9]/);
  });
});
