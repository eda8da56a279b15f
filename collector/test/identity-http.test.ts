import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, postJson, shop, testApp } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

// The identity rules through the collector's HTTP surface and group-commit writer.
describe(`identity stitching through the collector on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database);
  });
  afterAll(() => database.close());

  const message = (fields: Record<string, unknown>) => ({ messageId: randomUUID(), timestamp: new Date().toISOString(), ...fields });
  const send = async (path: string, body: unknown) => {
    const res = await postJson(app, path, body, { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(200);
  };
  const customerOf = async (messageId: string) =>
    (await database.db.selectFrom('events').select('customer_id').where('message_id', '=', messageId).executeTakeFirstOrThrow()).customer_id;

  test('browsing then login in one batch, and a second device later, end as one customer with its traits', async () => {
    const laptop = `anon-${randomUUID()}`;
    const phone = `anon-${randomUUID()}`;
    const userId = `user-${randomUUID()}`;
    const page = message({ type: 'page', name: 'Home', anonymousId: laptop });
    const login = message({ type: 'identify', anonymousId: laptop, userId, traits: { email: 'ann@example.com', plan: 'free' } });
    await send('/v1/batch', { batch: [page, login] });

    const phonePage = message({ type: 'page', name: 'Home', anonymousId: phone });
    await send('/v1/page', phonePage);
    const phoneCustomer = await customerOf(phonePage.messageId);
    const phoneLogin = message({ type: 'identify', anonymousId: phone, userId, traits: { plan: 'pro' } });
    await send('/v1/identify', phoneLogin);

    const customer = await customerOf(login.messageId);
    expect(customer).toBeTruthy();
    expect(await customerOf(page.messageId)).toBe(customer);
    expect(await customerOf(phonePage.messageId)).toBe(customer);
    expect(await customerOf(phoneLogin.messageId)).toBe(customer);
    const row = await database.db.selectFrom('customers').selectAll().where('id', '=', customer!).executeTakeFirstOrThrow();
    expect(row.traits).toEqual({ email: 'ann@example.com', plan: 'pro' });
    expect(row.identified_at).not.toBeNull();
    const merge = await database.db.selectFrom('identity_merges').selectAll().where('from_customer_id', '=', phoneCustomer!).executeTakeFirstOrThrow();
    expect(merge).toMatchObject({ into_customer_id: customer, reason: 'identify', source_id: shop.id, message_id: phoneLogin.messageId });
  });

  test('a placeholder userId sent by a buggy site links nobody', async () => {
    const first = message({ type: 'identify', anonymousId: `anon-${randomUUID()}`, userId: 'undefined' });
    const second = message({ type: 'identify', anonymousId: `anon-${randomUUID()}`, userId: 'undefined' });
    await send('/v1/batch', { batch: [first, second] });
    expect(await customerOf(first.messageId)).not.toBe(await customerOf(second.messageId));
  });
});
