/**
 * A deny names no one (docs/design.md §4): the SDK sends `Consent Updated` without anonymousId or
 * userId. Over HTTP, the collector stores that event attributed to nobody, and still refuses
 * any other message that names no one.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, newsletter, postJson, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const DENIED = { necessary: true, analytics: false, marketing: false };

describe(`a consent change with no identifier on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database);
  });
  afterAll(() => database.close());

  const count = async (table: 'customers' | 'identities') =>
    Number((await database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  test('is stored with no anonymousId, no userId and no customer; an ordinary event without one is refused', async () => {
    const deny = trackEvent({
      event: 'Consent Updated',
      anonymousId: undefined,
      properties: DENIED,
      context: { consent: { categoryPreferences: DENIED, category: 'necessary' } },
    });
    const nameless = trackEvent({ anonymousId: undefined, context: { consent: { categoryPreferences: DENIED, category: 'necessary' } } });
    const [customers, identities] = [await count('customers'), await count('identities')];

    // The newsletter source is opt-in: the deny is stored because its category is `necessary`.
    const res = await postJson(app, '/v1/batch', { batch: [deny, nameless], sentAt: new Date().toISOString() }, { authorization: basic(newsletter.writeKey) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: number; rejected: { index: number; reason: string; message: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([expect.objectContaining({ index: 1, reason: 'schema', message: expect.stringContaining('needs an anonymousId or a userId') })]);

    const row = await database.db
      .selectFrom('events')
      .select(['event', 'anonymous_id', 'user_id', 'customer_id', 'properties'])
      .where('message_id', '=', deny.messageId as string)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ event: 'Consent Updated', anonymous_id: null, user_id: null, customer_id: null, properties: DENIED });
    expect(await count('customers')).toBe(customers);
    expect(await count('identities')).toBe(identities);
    const stored = await database.db.selectFrom('events').select('message_id').where('message_id', '=', nameless.messageId as string).execute();
    expect(stored).toEqual([]);
  });
});
