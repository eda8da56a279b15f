import { createHash, randomUUID } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../src/app.js';
import type { Source } from '../src/config.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { migrations } from '../src/db/migrations/index.js';
import { EXCERPT_BYTES } from '../src/privacy/excerpt.js';
import { forgetPerson } from '../src/privacy/forget.js';
import { basic, postJson, testConfig, trackEvent, writerAndMetrics } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

interface Answer {
  accepted: number;
  duplicates: number;
  rejected: { index: number; messageId: string | null; reason: string; message: string }[];
}

/** A source of its own per test, so that its rows and counts are the test's alone. */
const sourceFor = (label: string, fields: Partial<Source> = {}): Source => {
  const id = `${label}-${randomUUID().slice(0, 8)}`;
  return { id, writeKey: `${id}-write-key`, allowedOrigins: [], consentMode: 'opt-out', kind: 'client', ...fields };
};

/** A track event that fails its schema (a track needs an event name). */
const invalidEvent = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({ ...trackEvent(fields), event: undefined });

describe(`refused events on ${testEngine}`, () => {
  let database: TestDatabase;
  const optIn = sourceFor('opt-in', { consentMode: 'opt-in' });
  const retried = sourceFor('retried');
  const large = sourceFor('large');
  const addresses = sourceFor('addresses');
  const noIds = sourceFor('no-ids');
  const rowBudget = sourceFor('row-budget', { rejectedBudget: { rowsPerDay: 3 } });
  const shared = sourceFor('shared-budget', { rejectedBudget: { rowsPerDay: 50 } });
  const byteBudget = sourceFor('byte-budget', { rejectedBudget: { bytesPerDay: 3 * 1024 } });
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    database = await createTestDatabase();
    const sources = [optIn, retried, large, addresses, noIds, rowBudget, byteBudget, shared];
    app = createApp({ database, config: { ...testConfig, sources }, trackerScript: null, ...writerAndMetrics(database) });
  });
  afterAll(() => database.close());

  const send = async (source: Source, batch: unknown[]) => {
    const res = await postJson(app, '/v1/batch', { batch }, { authorization: basic(source.writeKey) });
    expect(res.status).toBe(200);
    return (await res.json()) as Answer;
  };
  const rejectedRows = (source: Source) =>
    database.db.selectFrom('rejected_events').selectAll().where('source_id', '=', source.id).orderBy('id').execute();
  const usage = (source: Source) =>
    database.db.selectFrom('rejected_event_usage').select(['rows_stored', 'bytes_stored', 'rows_over_budget']).where('source_id', '=', source.id).execute();

  test('an event refused for consent leaves only a count per source, category and day: no rejected_events row, no event, no payload', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const person = { userId: `user-${randomUUID()}`, anonymousId: `anon-${randomUUID()}` };
    const context = { ip: '203.0.113.77', page: { url: 'https://shop.example/private' }, traits: { email: 'ann@example.com' } };
    const batch = [
      trackEvent({ ...person, context }),
      trackEvent({ ...person, context: { ...context, consent: { categoryPreferences: { analytics: false } } } }),
      trackEvent({ ...person, context: { ...context, consent: { category: 'marketing', categoryPreferences: { analytics: true } } } }),
    ];
    const answer = await send(optIn, batch);
    expect(answer).toEqual({
      accepted: 0,
      duplicates: 0,
      rejected: batch.map((event, index) => ({ index, messageId: event.messageId, reason: 'consent', message: expect.stringContaining('consent') })),
    });

    const counts = await sql<{ category: string; day: string; events: number }>`
      select category, to_char(day, 'YYYY-MM-DD') as day, events from consent_refusals where source_id = ${optIn.id} order by category`.execute(database.db);
    expect(counts.rows).toEqual([
      { category: 'analytics', day: today, events: 2 },
      { category: 'marketing', day: today, events: 1 },
    ]);
    expect(await rejectedRows(optIn)).toEqual([]);
    const ids = batch.map((event) => event.messageId as string);
    expect(await database.db.selectFrom('events').select('id').where('message_id', 'in', ids).execute()).toEqual([]);
    const anywhere = await sql<{ n: number }>`
      select count(*)::int as n from rejected_events
      where payload like ${`%${person.userId}%`} or message_id in (${sql.join(ids)})`.execute(database.db);
    expect(anywhere.rows[0]!.n).toBe(0);

    // The same refusals again add to the counts, and /metrics counts them too.
    await send(optIn, [trackEvent(person)]);
    const again = await database.db.selectFrom('consent_refusals').select('events').where('source_id', '=', optIn.id).where('category', '=', 'analytics').executeTakeFirstOrThrow();
    expect(again.events).toBe(3);
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain(`tally_consent_refused_total{source="${optIn.id}",category="analytics"} 3`);
    expect(metrics).toContain(`tally_consent_refused_total{source="${optIn.id}",category="marketing"} 1`);
  });

  test('the same invalid 2,500-event batch sent three times stores 2,500 rows, not 7,500', async () => {
    const batch = Array.from({ length: 2_500 }, () => invalidEvent());
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await send(retried, batch);
      expect(answer.accepted).toBe(0);
      expect(answer.rejected).toHaveLength(2_500);
    }
    const stored = await database.db
      .selectFrom('rejected_events')
      .select((eb) => [eb.fn.countAll<number>().as('rows'), eb.fn.count<number>('message_id').distinct().as('ids')])
      .where('source_id', '=', retried.id)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ rows: 2_500, ids: 2_500 });
    expect(await usage(retried)).toEqual([{ rows_stored: 2_500, bytes_stored: expect.any(Number), rows_over_budget: 0 }]);
  }, 120_000);

  test('an item without messageId is kept once however often it is sent', async () => {
    const item = { type: 'track', anonymousId: `anon-${randomUUID()}` };
    await send(noIds, [item, item]);
    await send(noIds, [item]);
    const rows = await rejectedRows(noIds);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ message_id: null, reason: 'schema' });
  });

  test('three large invalid events store three capped excerpts, each with the hash and size of the whole event', async () => {
    const batch = [1, 2, 3].map((n) => ({ ...trackEvent(), properties: { blob: String(n).repeat(150 * 1024) } }));
    const answer = await send(large, batch);
    expect(answer.rejected.map((r) => r.reason)).toEqual(['too_large', 'too_large', 'too_large']);
    const rows = await rejectedRows(large);
    expect(rows).toHaveLength(3);
    rows.forEach((row, i) => {
      const whole = JSON.stringify(batch[i]);
      expect(Buffer.byteLength(row.payload)).toBeLessThanOrEqual(EXCERPT_BYTES);
      expect(Buffer.byteLength(row.payload)).toBeGreaterThan(EXCERPT_BYTES - 16);
      expect(whole.startsWith(row.payload)).toBe(true);
      expect(row.payload_bytes).toBe(Buffer.byteLength(whole));
      expect(row.payload_sha256).toBe(createHash('sha256').update(whole).digest('hex'));
    });
    const total = await sql<{ bytes: number }>`select sum(octet_length(payload))::int as bytes from rejected_events where source_id = ${large.id}`.execute(database.db);
    expect(total.rows[0]!.bytes).toBeLessThanOrEqual(3 * EXCERPT_BYTES);
  });

  test('a kept excerpt holds every IP address truncated, as events store them', async () => {
    const event = invalidEvent({
      context: { ip: '203.0.113.77', note: 'forwarded for 198.51.100.23 and 2001:db8:85a3:8d3:1319:8a2e:370:7334', time: '10:00:00' },
    });
    await send(addresses, [event]);
    const [row] = await rejectedRows(addresses);
    expect(row!.payload).toContain('"ip":"203.0.113.0"');
    expect(row!.payload).toContain('forwarded for 198.51.100.0 and 2001:db8:85a3::');
    expect(row!.payload).toContain('"time":"10:00:00"');
    for (const full of ['203.0.113.77', '198.51.100.23', '1319:8a2e:370:7334']) expect(row!.payload).not.toContain(full);
  });

  test('a refused event with a huge messageId keeps 200 characters of it and costs the other events nothing', async () => {
    const huge = invalidEvent({ messageId: `huge-${'m'.repeat(5_000)}` });
    const fine = trackEvent();
    const res = await postJson(app, '/v1/batch', { batch: [huge, fine] }, { authorization: basic(addresses.writeKey) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 0, messageId: huge.messageId, reason: 'schema' }] });
    const kept = await database.db.selectFrom('rejected_events').select('message_id').where('message_id', 'like', 'huge-%').where('source_id', '=', addresses.id).execute();
    expect(kept).toEqual([{ message_id: (huge.messageId as string).slice(0, 200) }]);
  });

  test("past its source's daily row budget a refused event is only counted, and the request is still answered in full", async () => {
    const batch = Array.from({ length: 5 }, () => invalidEvent());
    const answer = await send(rowBudget, batch);
    expect(answer.rejected).toHaveLength(5);
    expect((await rejectedRows(rowBudget)).map((row) => row.message_id)).toEqual(batch.slice(0, 3).map((event) => event.messageId));
    expect(await usage(rowBudget)).toEqual([{ rows_stored: 3, bytes_stored: expect.any(Number), rows_over_budget: 2 }]);

    await send(rowBudget, [invalidEvent()]);
    expect(await rejectedRows(rowBudget)).toHaveLength(3);
    const [ledger] = await usage(rowBudget);
    expect(ledger!.rows_over_budget).toBe(3);

    // /metrics shows the same day's figures, read from the database every collector shares.
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain(`tally_rejected_kept_rows{source="${rowBudget.id}"} 3`);
    expect(metrics).toContain(`tally_rejected_kept_bytes{source="${rowBudget.id}"} ${ledger!.bytes_stored}`);
    expect(metrics).toContain(`tally_rejected_over_budget_rows{source="${rowBudget.id}"} 3`);
  });

  test('two collectors writing at once share one budget, and the same batch sent by both is kept once', async () => {
    // Two apps, each with its own group-commit writer (and connections on Postgres).
    const other = createApp({ database, config: { ...testConfig, sources: [shared] }, trackerScript: null, ...writerAndMetrics(database) });
    const sendThrough = async (target: typeof app, batch: unknown[]) => {
      const res = await postJson(target, '/v1/batch', { batch }, { authorization: basic(shared.writeKey) });
      expect(res.status).toBe(200);
    };
    const batches = Array.from({ length: 4 }, () => Array.from({ length: 30 }, () => invalidEvent()));
    await Promise.all(batches.flatMap((batch, i) => [sendThrough(i % 2 ? app : other, batch), sendThrough(i % 2 ? other : app, batch)]));
    const rows = await rejectedRows(shared);
    expect(rows).toHaveLength(50);
    expect(new Set(rows.map((row) => row.message_id)).size).toBe(50);
    const [ledger] = await usage(shared);
    expect(ledger!.rows_stored).toBe(50);
    // 120 distinct refused events, 50 kept: 70 over budget, plus whatever copies arrived
    // while their first was not yet stored (a copy already stored is not counted).
    expect(ledger!.rows_over_budget).toBeGreaterThanOrEqual(70);
  });

  test("past its source's daily byte budget a refused event is only counted", async () => {
    // Each excerpt is 2 KB: the first fits in 3 KB, the second would not.
    const batch = [1, 2, 3].map(() => invalidEvent({ properties: { blob: 'x'.repeat(4 * 1024) } }));
    await send(byteBudget, batch);
    const rows = await rejectedRows(byteBudget);
    expect(rows.map((row) => row.message_id)).toEqual([batch[0]!.messageId]);
    const [ledger] = await usage(byteBudget);
    expect(ledger).toMatchObject({ rows_stored: 1, rows_over_budget: 2 });
    expect(ledger!.bytes_stored).toBeLessThanOrEqual(3 * 1024);
  });
});

describe(`the rejected-events migration on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test('turns stored consent refusals into counts, keeps one row per messageId, caps excerpts with addresses truncated, and makes them forgettable', async () => {
    const db = database.db;
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('20261123T1200-customer-event-days')).error).toBeUndefined();
    const legacy = (reason: string, messageId: string, item: Record<string, unknown>) =>
      sql`insert into rejected_events (source_id, message_id, reason, errors, payload, received_at)
          values ('legacy', ${messageId}, ${reason}, '[]', ${JSON.stringify(item)}, '2026-11-30T10:00:00Z')`.execute(db);
    await legacy('consent', 'c-1', { userId: 'legacy-user', context: { ip: '203.0.113.77', consent: { category: 'marketing', categoryPreferences: {} } } });
    await legacy('consent', 'c-2', { anonymousId: 'legacy-anon' });
    const bad = { userId: 'legacy-user', anonymousId: 'legacy-anon', context: { ip: '203.0.113.77', v6: '2001:db8:85a3::8a2e:370:7334' }, blob: 'x'.repeat(10_000) };
    for (let copy = 0; copy < 3; copy++) await legacy('schema', 'bad-1', bad);
    await legacy('too_large', `long-${'m'.repeat(5_000)}`, { note: 'a messageId too long for an index entry' });

    expect(await migrateToLatest(db)).toEqual(expect.arrayContaining(['20261201T0900-rejected-events-privacy', '20261201T0910-transparency']));
    const counts = await sql<{ category: string; events: number }>`select category, events from consent_refusals where source_id = 'legacy' order by category`.execute(db);
    expect(counts.rows).toEqual([{ category: 'analytics', events: 1 }, { category: 'marketing', events: 1 }]);
    const rows = await db.selectFrom('rejected_events').selectAll().where('source_id', '=', 'legacy').orderBy('id').execute();
    expect(rows.map((row) => row.message_id?.length)).toEqual([5, 200]);
    expect(rows[0]).toMatchObject({ message_id: 'bad-1', reason: 'schema', payload_bytes: Buffer.byteLength(JSON.stringify(bad)) });
    expect(rows[0]!.payload_sha256).toBe(createHash('sha256').update(JSON.stringify(bad)).digest('hex'));
    expect(rows[0]!.payload.length).toBeLessThanOrEqual(2048);
    expect(rows[0]!.payload).toContain('"ip":"203.0.113.0"');
    expect(rows[0]!.payload).not.toContain('203.0.113.77');
    expect(rows[0]!.payload).not.toContain('8a2e:370:7334');

    expect(await forgetPerson(db, { anonymousId: 'legacy-anon' }, { channel: 'cli' })).toMatchObject({ customers: 0, rejectedEvents: 1 });
  });
});
