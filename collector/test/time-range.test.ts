import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

describe(`instants across the accepted years on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  const receivedAt = new Date('2026-03-01T12:00:00.000Z');
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database, { now: () => receivedAt });
  });
  afterAll(() => database.close());

  const row = (messageId: string) =>
    database.db
      .selectFrom('events')
      .select(['timestamp', 'original_timestamp', 'sent_at'])
      .where('message_id', '=', messageId)
      .executeTakeFirstOrThrow();

  test.each(['0001-01-01T00:00:00.000Z', '0099-05-06T07:08:09.010Z', '1899-12-31T23:59:59.999Z', '1900-01-01T00:00:00.000Z', '1901-01-01T00:00:00.000Z'])(
    'a timestamp of %s is accepted and stored as written',
    async (iso) => {
      const event = trackEvent({ timestamp: iso });
      const res = await postJson(app, '/v1/batch', { batch: [event] }, { authorization: basic(shop.writeKey) });
      expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
      const stored = await row(event.messageId as string);
      expect(stored.timestamp.toISOString()).toBe(iso);
      expect(stored.original_timestamp?.toISOString()).toBe(iso);
    },
  );

  test.each(['0001-01-01T00:00:00.000Z', '1899-07-14T10:00:00.000Z', '1900-02-28T00:00:00.000Z', '9999-12-31T23:59:59.999Z'])(
    'a timestamp and sentAt of %s are accepted and kept as written; the event happened when it arrived',
    async (iso) => {
      const event = trackEvent({ timestamp: iso, sentAt: iso });
      const res = await postJson(app, '/v1/batch', { batch: [event] }, { authorization: basic(shop.writeKey) });
      expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
      const stored = await row(event.messageId as string);
      expect(stored.original_timestamp?.toISOString()).toBe(iso);
      expect(stored.sent_at?.toISOString()).toBe(iso);
      // Sent the moment it happened: the skew correction puts it at its arrival.
      expect(stored.timestamp.toISOString()).toBe(receivedAt.toISOString());
    },
  );

  test('a timestamp in year 9999 is kept as written and, as any future instant, counted at its arrival', async () => {
    const event = trackEvent({ timestamp: '9999-12-31T23:59:59.999Z' });
    const res = await postJson(app, '/v1/batch', { batch: [event] }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    const stored = await row(event.messageId as string);
    expect(stored.original_timestamp?.toISOString()).toBe('9999-12-31T23:59:59.999Z');
    expect(stored.timestamp.toISOString()).toBe(receivedAt.toISOString());
  });

  test('year 0 and year 10000 are refused with the reason', async () => {
    const before = trackEvent({ timestamp: '0000-12-31T23:59:59.999Z' });
    const after = trackEvent({ sentAt: '9999-12-31T23:59:59.999-01:00' });
    const res = await postJson(app, '/v1/batch', { batch: [before, after] }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toMatchObject({
      accepted: 0,
      rejected: [
        { index: 0, reason: 'schema', message: 'batch[0].timestamp: "0000-12-31T23:59:59.999Z" lies outside the years 0001–9999' },
        { index: 1, reason: 'schema', message: 'batch[1].sentAt: "9999-12-31T23:59:59.999-01:00" lies outside the years 0001–9999' },
      ],
    });
  });
});
