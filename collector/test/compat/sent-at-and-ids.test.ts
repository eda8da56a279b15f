import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backend, basic, postJson, shop, testApp, trackEvent } from '../support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../support/test-database.js';
import { expectStoredRows } from './support/stored-events.js';

describe(`sentAt, RFC 3339 date-times and numeric ids as stored on ${testEngine}`, () => {
  let database: TestDatabase;
  const receivedAt = new Date('2026-03-01T12:00:00.000Z');
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database, { now: () => receivedAt });
  });
  afterAll(() => database.close());

  test('an envelope sentAt that is no date-time refuses nothing: events stored uncorrected, the response warns', async () => {
    // The client's clock is a day fast; without a usable sentAt nothing can tell, so nothing is corrected.
    const event = trackEvent({ timestamp: '2026-03-02T11:59:00.000Z' });
    const res = await postJson(app, '/v1/batch', { batch: [event], sentAt: 'Sun Mar 02 2026 12:00:00 GMT+0000' }, { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: [],
      warnings: [
        'sentAt: expected an ISO-8601 date-time such as "2024-05-01T12:00:00.000Z", got "Sun Mar 02 2026 12:00:00 GMT+0000"; ignored, so this batch\'s timestamps are not corrected for clock skew',
      ],
    });
    await expectStoredRows(database, [
      { message_id: event.messageId as string, sent_at: null, timestamp: '2026-03-01T12:00:00.000Z', original_timestamp: '2026-03-02T11:59:00.000Z' },
    ]);
  });

  test('an envelope sentAt of a date that does not exist is ignored the same way', async () => {
    const event = trackEvent({ timestamp: '2026-03-01T11:59:00.000Z' });
    const res = await postJson(app, '/v1/batch', { batch: [event], sentAt: '2026-02-30T12:00:00Z' }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toMatchObject({ accepted: 1, rejected: [], warnings: [expect.stringContaining('February 2026 has 28 days')] });
    await expectStoredRows(database, [{ message_id: event.messageId as string, sent_at: null, timestamp: '2026-03-01T11:59:00.000Z' }]);
  });

  test("an event's own sentAt drives its skew correction; an event without one takes the batch's", async () => {
    // The batch was stamped by a correct clock; the first event carries its own sentAt from a clock one hour fast.
    const own = trackEvent({ timestamp: '2026-03-01T12:59:50.000Z', sentAt: '2026-03-01T13:00:00.000Z' });
    const inherits = trackEvent({ timestamp: '2026-03-01T11:59:55.000Z' });
    const res = await postJson(app, '/v1/batch', { batch: [own, inherits], sentAt: '2026-03-01T12:00:00.000Z' }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    await expectStoredRows(database, [
      { message_id: own.messageId as string, sent_at: '2026-03-01T13:00:00.000Z', timestamp: '2026-03-01T11:59:50.000Z', original_timestamp: '2026-03-01T12:59:50.000Z' },
      { message_id: inherits.messageId as string, sent_at: '2026-03-01T12:00:00.000Z', timestamp: '2026-03-01T11:59:55.000Z', original_timestamp: '2026-03-01T11:59:55.000Z' },
    ]);
  });

  test('RFC 3339 forms (lowercase t and z, a space, offsets, long fractions, a leap second) are stored as their UTC instants', async () => {
    const events = [
      trackEvent({ timestamp: '2026-03-01t11:00:00z', sentAt: '2026-03-01t12:00:00.000z' }),
      trackEvent({ timestamp: '2026-03-01 13:30:00.123456789+02:30' }),
      trackEvent({ timestamp: '2026-03-01T06:00:00.5-0500', sentAt: '2026-03-01T13:00:00+01' }),
      trackEvent({ timestamp: '2016-12-31T23:59:60Z' }),
    ];
    const res = await postJson(app, '/v1/batch', { batch: events }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toEqual({ accepted: 4, duplicates: 0, rejected: [] });
    await expectStoredRows(database, [
      { message_id: events[0]!.messageId as string, timestamp: '2026-03-01T11:00:00.000Z', sent_at: '2026-03-01T12:00:00.000Z' },
      { message_id: events[1]!.messageId as string, timestamp: '2026-03-01T11:00:00.123Z', sent_at: null },
      { message_id: events[2]!.messageId as string, timestamp: '2026-03-01T11:00:00.500Z', sent_at: '2026-03-01T12:00:00.000Z' },
      { message_id: events[3]!.messageId as string, timestamp: '2017-01-01T00:00:00.000Z' },
    ]);
  });

  test('numeric userId, anonymousId, groupId and previousId are stored as their decimal strings', async () => {
    const identify = { type: 'identify', messageId: `num-${Date.now()}-1`, userId: 4242, anonymousId: 77, traits: { plan: 'pro' } };
    const group = { type: 'group', messageId: `num-${Date.now()}-2`, userId: 4242, groupId: 9001 };
    const alias = { type: 'alias', messageId: `num-${Date.now()}-3`, userId: 4242, previousId: 12.5 };
    // A server library's ids (analytics-ruby passes `user.id`); alias needs a server source.
    const res = await postJson(app, '/v1/batch', { batch: [identify, group, alias] }, { authorization: basic(backend.writeKey) });
    expect(await res.json()).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    await expectStoredRows(database, [
      { message_id: identify.messageId, user_id: '4242', anonymous_id: '77' },
      { message_id: group.messageId, user_id: '4242', group_id: '9001' },
      { message_id: alias.messageId, user_id: '4242', previous_id: '12.5' },
    ]);
    const track = { messageId: `num-${Date.now()}-4`, userId: 4242, event: 'Renewed' };
    const single = await postJson(app, '/v1/track', track, { authorization: basic(shop.writeKey) });
    expect(await single.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    await expectStoredRows(database, [{ message_id: track.messageId, type: 'track', user_id: '4242' }]);
    // All four calls carried the same person: one customer.
    const customers = await database.db
      .selectFrom('events')
      .select('customer_id')
      .distinct()
      .where('message_id', 'in', [identify.messageId, group.messageId, alias.messageId, track.messageId])
      .execute();
    expect(customers).toHaveLength(1);
  });

  test('an integer id past 2^53 is refused with its reason and kept in rejected_events; the rest of the batch is stored', async () => {
    const fine = trackEvent();
    const body = `{"batch":[{"type":"identify","messageId":"big-${Date.now()}","userId":12345678901234567891},${JSON.stringify(fine)}]}`;
    const res = await postJson(app, '/v1/batch', body, { authorization: basic(shop.writeKey) });
    const answer = (await res.json()) as { accepted: number; rejected: { index: number; reason: string; message: string }[] };
    expect(answer.accepted).toBe(1);
    expect(answer.rejected).toEqual([
      {
        index: 0,
        messageId: expect.stringMatching(/^big-/),
        reason: 'schema',
        message: 'batch[0].userId: 12345678901234567000 is past 2^53, where a JSON number has already lost digits; send this id as a string',
      },
    ]);
    await expectStoredRows(database, [{ message_id: fine.messageId as string, type: 'track' }]);
  });
});
