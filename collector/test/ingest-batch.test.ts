import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

describe(`POST /v1/batch on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database);
  });
  afterAll(() => database.close());

  const storedIds = async (ids: string[]) =>
    (await database.db.selectFrom('events').select('message_id').where('message_id', 'in', ids).execute()).map((r) => r.message_id).sort();

  test('stores a batch and answers how many were accepted', async () => {
    const events = [trackEvent(), trackEvent({ type: 'identify', event: undefined, userId: 'user-1', traits: { email: 'a@b.example' } })];
    const res = await postJson(app, '/v1/batch', { batch: events, sentAt: new Date().toISOString() }, { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    expect(await storedIds(events.map((e) => e.messageId as string))).toEqual(events.map((e) => e.messageId).sort());
  });

  test('lifts enrichment into columns: agent, truncated address, page, campaign, timestamps', async () => {
    const timestamp = '2026-03-01T10:00:00.000Z';
    const event = trackEvent({
      timestamp,
      sentAt: '2026-03-01T10:00:01.000Z',
      context: {
        userAgent:
          'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
        page: { url: 'https://shop.example/shoes?utm_source=news&utm_medium=email', path: '/shoes', referrer: 'https://mail.example/' },
        campaign: { name: 'spring', term: 'boots' },
      },
    });
    const receivedAt = new Date('2026-03-01T10:00:01.500Z');
    const pinned = testApp(database, { now: () => receivedAt });
    const res = await postJson(pinned, '/v1/batch', { batch: [event] }, {
      authorization: basic(shop.writeKey),
      'x-forwarded-for': '198.51.100.23, 203.0.113.77',
    });
    expect(await res.json()).toMatchObject({ accepted: 1 });
    const row = await database.db.selectFrom('events').selectAll().where('message_id', '=', event.messageId as string).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      source_id: 'shop',
      type: 'track',
      event: 'Signed Up',
      anonymous_id: event.anonymousId,
      browser: 'Mobile Safari',
      os: 'iOS',
      device_type: 'mobile',
      ip: '203.0.113.0',
      url: 'https://shop.example/shoes?utm_source=news&utm_medium=email',
      path: '/shoes',
      referrer: 'https://mail.example/',
      utm_source: 'news',
      utm_medium: 'email',
      utm_campaign: 'spring',
      utm_term: 'boots',
      utm_content: null,
      properties: { plan: 'pro' },
    });
    expect(new Date(row.timestamp).toISOString()).toBe(timestamp);
    expect(new Date(row.original_timestamp!).toISOString()).toBe(timestamp);
    expect(new Date(row.received_at).toISOString()).toBe(receivedAt.toISOString());
  });

  test('corrects a skewed client clock, keeping the original timestamp', async () => {
    const receivedAt = new Date('2026-03-01T12:00:00.000Z');
    // The client's clock runs one day fast: sent "tomorrow", the event happened 10 s before sending.
    const event = trackEvent({ timestamp: '2026-03-02T11:59:50.000Z', sentAt: '2026-03-02T12:00:00.000Z' });
    const pinned = testApp(database, { now: () => receivedAt });
    await postJson(pinned, '/v1/batch', { batch: [event] }, { authorization: basic(shop.writeKey) });
    const row = await database.db.selectFrom('events').selectAll().where('message_id', '=', event.messageId as string).executeTakeFirstOrThrow();
    expect(new Date(row.timestamp).toISOString()).toBe('2026-03-01T11:59:50.000Z');
    expect(new Date(row.original_timestamp!).toISOString()).toBe('2026-03-02T11:59:50.000Z');
  });

  test('merges the batch context under each event and takes the batch sentAt', async () => {
    const event = trackEvent({ context: { locale: 'de-DE' } });
    await postJson(app, '/v1/batch', { batch: [event], context: { locale: 'en-US', library: { name: 'curl', version: '8' } }, writeKey: shop.writeKey });
    const row = await database.db.selectFrom('events').select(['context']).where('message_id', '=', event.messageId as string).executeTakeFirstOrThrow();
    expect(row.context).toMatchObject({ locale: 'de-DE', library: { name: 'curl', version: '8' } });
  });

  test("the batch sentAt reaches the events without one; an event's own sentAt is kept", async () => {
    const own = trackEvent({ sentAt: '2026-03-01T10:00:00.000Z', timestamp: '2026-03-01T09:59:59.000Z' });
    const none = trackEvent({ timestamp: '2026-03-01T09:59:59.000Z' });
    delete none.sentAt;
    const res = await postJson(app, '/v1/batch', { batch: [own, none], sentAt: '2026-03-01T10:00:05.000Z' }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toMatchObject({ accepted: 2, rejected: [] });
    const rows = await database.db
      .selectFrom('events')
      .select(['message_id', 'sent_at'])
      .where('message_id', 'in', [own.messageId as string, none.messageId as string])
      .execute();
    const sentAt = new Map(rows.map((row) => [row.message_id, row.sent_at?.toISOString()]));
    expect(sentAt.get(own.messageId as string)).toBe('2026-03-01T10:00:00.000Z');
    expect(sentAt.get(none.messageId as string)).toBe('2026-03-01T10:00:05.000Z');
  });

  test("a NUL in the batch's own context is refused with each event it is merged into", async () => {
    const event = trackEvent();
    const res = await postJson(app, '/v1/batch', { batch: [event], context: { locale: 'a\u0000b' } }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: 'unstorable' }] });
  });

  test('1 bad event among 10: 9 stored, 1 in rejected_events, the response names it', async () => {
    const events = Array.from({ length: 10 }, () => trackEvent());
    const bad: Record<string, unknown> = { ...events[4]!, properties: 'not an object' };
    events[4] = bad;
    const res = await postJson(app, '/v1/batch', { batch: events }, { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: number; rejected: { index: number; messageId: string; reason: string; message: string }[] };
    expect(body.accepted).toBe(9);
    expect(body.rejected).toEqual([{ index: 4, messageId: bad.messageId, reason: 'schema', message: expect.stringContaining('batch[4].properties') }]);
    const ids = events.map((e) => e.messageId as string);
    expect(await storedIds(ids)).toEqual(ids.filter((id) => id !== bad.messageId).sort());
    const rejected = await database.db.selectFrom('rejected_events').selectAll().where('message_id', '=', bad.messageId as string).execute();
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ source_id: 'shop', reason: 'schema' });
    expect(JSON.parse(rejected[0]!.payload)).toEqual(bad);
  });

  test('the same batch sent twice is stored once and the retry is counted as duplicates', async () => {
    const events = Array.from({ length: 5 }, () => trackEvent());
    const first = await postJson(app, '/v1/batch', { batch: events }, { authorization: basic(shop.writeKey) });
    expect(await first.json()).toEqual({ accepted: 5, duplicates: 0, rejected: [] });
    const again = await postJson(app, '/v1/batch', { batch: events }, { authorization: basic(shop.writeKey) });
    expect(await again.json()).toEqual({ accepted: 0, duplicates: 5, rejected: [] });
    const ids = events.map((e) => e.messageId as string);
    const { count } = await database.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('count')).where('message_id', 'in', ids).executeTakeFirstOrThrow();
    expect(Number(count)).toBe(5);
  });

  test('a messageId repeated inside one batch counts as a duplicate', async () => {
    const event = trackEvent();
    const res = await postJson(app, '/v1/batch', { batch: [event, { ...event }, trackEvent()] }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
  });

  test('takes the write key from the body and a text/plain body (what sendBeacon sends)', async () => {
    const event = trackEvent();
    const res = await app.request('/v1/batch', {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: JSON.stringify({ batch: [event], writeKey: shop.writeKey }),
    });
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect(await storedIds([event.messageId as string])).toEqual([event.messageId]);
  });

  test('reads a gzip body', async () => {
    const event = trackEvent();
    const res = await app.request('/v1/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: basic(shop.writeKey) },
      body: gzipSync(JSON.stringify({ batch: [event] })),
    });
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
  });

  test('an event over 32 KB is rejected as too_large, the rest stored', async () => {
    const big = trackEvent({ properties: { blob: 'x'.repeat(33 * 1024) } });
    const small = trackEvent();
    const res = await postJson(app, '/v1/batch', { batch: [big, small] }, { authorization: basic(shop.writeKey) });
    const body = (await res.json()) as { accepted: number; rejected: { reason: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected).toMatchObject([{ index: 0, messageId: big.messageId, reason: 'too_large' }]);
    const rejected = await database.db.selectFrom('rejected_events').select('reason').where('message_id', '=', big.messageId as string).execute();
    expect(rejected).toEqual([{ reason: 'too_large' }]);
  });

  test('NUL characters and lone surrogates are refused as unstorable without costing the other events', async () => {
    const withNul = trackEvent({ properties: { note: 'a\u0000b' } });
    const withSurrogate = trackEvent({ properties: { ['k\ud800']: 1 } });
    const fine = trackEvent({ properties: { note: 'a\\u0000b, emoji 😀' } });
    const body = JSON.stringify({ batch: [withNul, withSurrogate, fine] });
    const res = await postJson(app, '/v1/batch', body, { authorization: basic(shop.writeKey) });
    const answer = (await res.json()) as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(answer.accepted).toBe(1);
    expect(answer.rejected.map((r) => [r.index, r.reason])).toEqual([
      [0, 'unstorable'],
      [1, 'unstorable'],
    ]);
    const stored = await database.db.selectFrom('events').select('properties').where('message_id', '=', fine.messageId as string).executeTakeFirstOrThrow();
    expect(stored.properties).toEqual({ note: 'a\\u0000b, emoji 😀' });
    const kept = await database.db.selectFrom('rejected_events').select('payload').where('message_id', '=', withNul.messageId as string).executeTakeFirstOrThrow();
    expect(JSON.parse(kept.payload)).toEqual(withNul);
  });

  test('instants Postgres cannot store (year 0, a far-future sentAt) never fail the other events written with them', async () => {
    const yearZero = trackEvent({ timestamp: '0000-06-01T00:00:00Z' });
    const farFutureSentAt = trackEvent({ timestamp: '2026-03-01T10:00:00Z', sentAt: '9999-12-31T23:59:59Z' });
    const fine = trackEvent();
    const res = await postJson(app, '/v1/batch', { batch: [yearZero, farFutureSentAt, fine] }, { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accepted: 2,
      duplicates: 0,
      rejected: [
        {
          index: 0,
          messageId: yearZero.messageId,
          reason: 'schema',
          message: 'batch[0].timestamp: "0000-06-01T00:00:00Z" lies outside the years 0001–9999',
        },
      ],
    });
    const rows = await database.db
      .selectFrom('events')
      .select(['message_id', 'timestamp', 'original_timestamp', 'sent_at'])
      .where('message_id', 'in', [yearZero.messageId as string, farFutureSentAt.messageId as string])
      .execute();
    const byId = new Map(rows.map((r) => [r.message_id, r]));
    expect(byId.has(yearZero.messageId as string)).toBe(false);
    // Correcting by a skew of 7,973 years would land before year 1: the event is kept at year 1,
    // with the client's timestamp and sentAt as sent.
    const shifted = byId.get(farFutureSentAt.messageId as string);
    expect(shifted?.timestamp.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(shifted?.original_timestamp?.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(shifted?.sent_at?.toISOString()).toBe('9999-12-31T23:59:59.000Z');
  });

  test('a source in opt-out mode refuses an event whose category was denied', async () => {
    const denied = trackEvent({ context: { consent: { categoryPreferences: { analytics: false } } } });
    const necessary = trackEvent({ context: { consent: { category: 'necessary', categoryPreferences: { analytics: false } } } });
    const res = await postJson(app, '/v1/batch', { batch: [denied, necessary] }, { authorization: basic(shop.writeKey) });
    const body = (await res.json()) as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected).toMatchObject([{ index: 0, reason: 'consent' }]);
  });

  test('a source in opt-in mode stores only events whose category was granted', async () => {
    const undecided = trackEvent();
    const granted = trackEvent({ context: { consent: { categoryPreferences: { analytics: true } } } });
    const res = await postJson(app, '/v1/batch', { batch: [undecided, granted] }, { authorization: basic('newsletter-write-key') });
    const body = (await res.json()) as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected).toMatchObject([{ index: 0, reason: 'consent' }]);
    // Refused for consent: counted in consent_refusals, nothing of the event kept.
    const rows = await database.db.selectFrom('rejected_events').select(['reason', 'source_id']).where('message_id', '=', undecided.messageId as string).execute();
    expect(rows).toEqual([]);
  });
});

describe(`bad requests on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database);
  });
  afterAll(() => database.close());

  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

  test('malformed JSON → 400 naming where parsing stopped', async () => {
    const res = await postJson(app, '/v1/batch', '{"batch": [{"type": "track",}]}', { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_json');
    expect(error.message).toContain('position 28');
    expect(error.message).toContain('line 1, column 29');
  });

  test('a body over 500 KB → 413, also when it is gzip and only large once inflated', async () => {
    const events = Array.from({ length: 30 }, () => trackEvent({ properties: { blob: 'y'.repeat(20_000) } }));
    const plain = await postJson(app, '/v1/batch', { batch: events }, { authorization: basic(shop.writeKey) });
    expect(plain.status).toBe(413);
    const zipped = await app.request('/v1/batch', {
      method: 'POST',
      headers: { 'content-encoding': 'gzip', authorization: basic(shop.writeKey) },
      body: gzipSync(JSON.stringify({ batch: events })),
    });
    expect(zipped.status).toBe(413);
    expect((await errorOf(zipped)).code).toBe('body_too_large');
    const ids = events.map((e) => e.messageId as string);
    expect(await database.db.selectFrom('events').select('id').where('message_id', 'in', ids).execute()).toEqual([]);
  });

  test('more than 2,500 events → 413', async () => {
    const batch = Array.from({ length: 2_501 }, (_, i) => ({ type: 'track', event: 'E', messageId: `m${i}`, anonymousId: 'a' }));
    const res = await postJson(app, '/v1/batch', { batch }, { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).message).toContain('2,500');
  });

  test('a wrong or missing write key → 401 and nothing stored', async () => {
    const event = trackEvent();
    const wrong = await postJson(app, '/v1/batch', { batch: [event] }, { authorization: basic('not-a-key') });
    expect(wrong.status).toBe(401);
    const wrongInBody = await postJson(app, '/v1/batch', { batch: [event], writeKey: 'not-a-key' });
    expect(wrongInBody.status).toBe(401);
    const missing = await postJson(app, '/v1/batch', { batch: [event] });
    expect(missing.status).toBe(401);
    expect((await errorOf(missing)).message).toContain('write key');
    expect(await database.db.selectFrom('events').select('id').where('message_id', '=', event.messageId as string).execute()).toEqual([]);
  });

  test('a body that is not a batch → 400 with the reason', async () => {
    const res = await postJson(app, '/v1/batch', { events: [] }, { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain('batch');
  });

  test('a body nested 10,000 deep (which JSON.parse reads and JSON.stringify cannot follow) → 400, never 500, and nothing stored', async () => {
    const event = trackEvent();
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const text = JSON.stringify({ batch: [event] }).replace(/\}\]\}$/, `,"properties":{"deep":${deep}}}]}`);
    const res = await postJson(app, '/v1/batch', text, { authorization: basic(shop.writeKey) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_batch');
    expect(await database.db.selectFrom('events').select('id').where('message_id', '=', event.messageId as string).execute()).toEqual([]);
  });

  test('an unsupported content encoding → 415', async () => {
    const res = await app.request('/v1/batch', {
      method: 'POST',
      headers: { 'content-encoding': 'br', authorization: basic(shop.writeKey) },
      body: 'x',
    });
    expect(res.status).toBe(415);
  });
});
