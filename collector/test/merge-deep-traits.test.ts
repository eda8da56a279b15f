import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

describe(`a merge carrying deeply nested traits on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test('an identify that merges two stored customers with traits nested 2,000 deep is stored, not set aside as write_failed', async () => {
    const app = testApp(database);
    const send = async (event: Record<string, unknown>) => {
      const res = await postJson(app, '/v1/batch', { batch: [event] }, { authorization: basic(shop.writeKey) });
      return { status: res.status, body: (await res.json()) as { accepted: number } };
    };
    const [visitor, device, userId] = [`anon-${randomUUID()}`, `anon-${randomUUID()}`, `user-${randomUUID()}`];
    // A stored anonymous customer, and a stored customer of the user (from another device).
    expect((await send(trackEvent({ anonymousId: visitor }))).body.accepted).toBe(1);
    expect((await send(trackEvent({ type: 'identify', event: undefined, anonymousId: device, userId }))).body.accepted).toBe(1);

    let deep: unknown = 1;
    for (let level = 0; level < 2_000; level++) deep = { a: deep };
    const merging = trackEvent({ type: 'identify', event: undefined, anonymousId: visitor, userId, traits: { plan: 'pro', deep } });
    expect(await send(merging)).toEqual({ status: 200, body: expect.objectContaining({ accepted: 1 }) });

    const customers = await database.db
      .selectFrom('identities')
      .select(['value', 'customer_id'])
      .where('value', 'in', [visitor, device, userId])
      .execute();
    expect(new Set(customers.map((row) => row.customer_id)).size).toBe(1);
    const stored = await database.db.selectFrom('events').select('message_id').where('message_id', '=', merging.messageId as string).execute();
    expect(stored).toHaveLength(1);
  });
});
