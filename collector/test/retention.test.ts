import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '../src/db/schema/database.js';
import { insertEvents } from '../src/db/event-store.js';
import {
  ensureEventPartitions,
  expireEvents,
  expireRejectedEvents,
  listEventPartitions,
  MONTHS_AHEAD,
  startRetention,
  type SourceRetention,
} from '../src/retention/index.js';
import { refreshDailyRollups } from '../src/retention/rollups.js';
import { referenceFunnel, type ReferenceStep } from './support/funnel-reference.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const DAY = 86_400_000;
const now = new Date('2026-12-15T12:00:00Z');
// shop keeps 90 days (the longest: whole months go), app 30 (row by row); "gone" is a source
// no longer configured.
const sources: SourceRetention[] = [
  { id: 'shop', retentionDays: 90 },
  { id: 'app', retentionDays: 30 },
];

interface Stored {
  source: string;
  messageId: string;
  customer: string;
  event: string;
  at: number;
  campaign?: string;
}

/** Stores events through the collector's own insert statement (which claims the ledger). */
async function store(db: Kysely<Database>, events: Stored[]): Promise<void> {
  const rows = events.map((e) => ({
    message_id: e.messageId,
    source_id: e.source,
    type: 'track',
    event: e.event,
    customer_id: e.customer,
    timestamp: new Date(e.at).toISOString(),
    received_at: now.toISOString(),
    properties: {},
    traits: {},
    context: {},
    utm_source: e.campaign ?? null,
  }));
  await db.transaction().execute((trx) => insertEvents(JSON.stringify(rows)).execute(trx));
}

/** Shoppers from August to December on both sources, a few far in the past (the default partition). */
function journeys(): Stored[] {
  const events: Stored[] = [];
  const steps = ['Viewed', 'Added', 'Ordered'];
  const starts = ['2019-05-01', '2026-08-10', '2026-08-31T20:00:00Z', '2026-09-05', '2026-10-03', '2026-11-10', '2026-11-20', '2026-12-10'];
  let n = 0;
  for (const source of ['shop', 'app', 'gone']) {
    for (const start of starts) {
      for (let c = 0; c < 3; c++) {
        const customer = randomUUID();
        const taken = 1 + ((n + c) % 3);
        for (let s = 0; s < taken; s++) {
          // The first of each journey's first step came from a campaign.
          const campaign = c === 0 && s === 0 ? 'newsletter' : undefined;
          events.push({ source, messageId: `m-${n++}`, customer, event: steps[s]!, at: Date.parse(start) + c * 3_600_000 + s * 7_200_000, campaign });
        }
      }
    }
  }
  return events;
}

async function storedEvents(db: Kysely<Database>): Promise<Stored[]> {
  const { rows } = await sql<{ source_id: string; message_id: string; customer_id: string; event: string; at: string }>`
    select source_id, message_id, customer_id::text, event, to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at
      from events order by message_id`.execute(db);
  return rows.map((r) => ({ source: r.source_id, messageId: r.message_id, customer: r.customer_id, event: r.event, at: Date.parse(r.at) }));
}

async function funnel(db: Kysely<Database>, since: string, until: string): Promise<ReferenceStep[]> {
  const { rows } = await sql<{ step: number; breakdown_value: string | null; customers: number; median_seconds: number | null }>`
    select step, breakdown_value, customers, extract(epoch from median_time_from_previous)::float8 as median_seconds
      from funnel(array['Viewed', 'Added', 'Ordered'], ${since}::timestamptz, ${until}::timestamptz, '1 day')`.execute(db);
  return rows.map((r) => ({ step: r.step, breakdownValue: r.breakdown_value, customers: r.customers, medianSeconds: r.median_seconds }));
}

const recomputedFunnel = (events: Stored[], since: string, until: string) =>
  referenceFunnel(
    events.map((e) => ({ customer: e.customer, event: e.event, at: e.at })),
    ['Viewed', 'Added', 'Ordered'],
    Date.parse(since),
    Date.parse(until),
    DAY,
  );

async function rollUpDifferences(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with fresh as (
      select event, customer_id, ("timestamp" at time zone 'UTC')::date as day, min("timestamp") as first_at, max("timestamp") as last_at
        from events where event is not null and customer_id is not null group by 1, 2, 3)
    select count(*) as n from (
      (select event, customer_id, day, first_at, last_at from customer_event_days except all select * from fresh)
      union all
      (select * from fresh except all select event, customer_id, day, first_at, last_at from customer_event_days)) d`.execute(db);
  return rows[0]!.n;
}

// Campaign touches the stored events no longer give, and the other way round.
async function touchDifferences(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with fresh as (
      select customer_id, "timestamp", id as event_id, utm_source from events where customer_id is not null and utm_source is not null)
    select count(*) as n from (
      (select customer_id, "timestamp", event_id, utm_source from customer_campaign_touches except all select * from fresh)
      union all
      (select * from fresh except all select customer_id, "timestamp", event_id, utm_source from customer_campaign_touches)) d`.execute(db);
  return rows[0]!.n;
}

// Rows of `customer_days` (a refreshed roll-up) that the stored events no longer give, and the other way round.
async function customerDayDifferences(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with fresh as (select distinct ("timestamp" at time zone 'UTC')::date as day, customer_id from events where customer_id is not null)
    select count(*) as n from (
      (select day, customer_id from customer_days except all select * from fresh)
      union all
      (select * from fresh except all select day, customer_id from customer_days)) d`.execute(db);
  return rows[0]!.n;
}

async function ledgerDifferences(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*) as n from (
      (select source_id, message_id from event_messages except all select source_id, message_id from events)
      union all
      (select source_id, message_id from events except all select source_id, message_id from event_messages)) d`.execute(db);
  return rows[0]!.n;
}

describe(`retention of events on ${testEngine}`, () => {
  let database: TestDatabase;
  let all: Stored[];
  beforeAll(async () => {
    database = await createTestDatabase();
    await ensureEventPartitions(database.db, new Date('2026-08-01T00:00:00Z'), 6);
    all = journeys();
    await store(database.db, all);
  });
  afterAll(() => database.close());

  test('expiry drops the months past the longest period, deletes what shorter periods and the default partition hold, and keeps the rest', async () => {
    const db = database.db;
    await refreshDailyRollups(db, { from: '2019-05-01', to: '2026-12-15' });
    expect(await customerDayDifferences(db)).toBe(0);
    const funnelBefore = await funnel(db, '2026-08-01', '2026-12-31');
    const touchesBefore = await sql<{ n: number }>`select count(*) as n from customer_campaign_touches where "timestamp" < '2026-09-01'`.execute(db);
    expect(touchesBefore.rows[0]!.n).toBeGreaterThan(0);
    const result = await expireEvents(db, sources, now);

    // 90 days before now is 16 September: August ends before it and goes whole; September,
    // which still holds days inside the period, stays until its last day is past.
    expect(result.droppedPartitions).toEqual(['events_2026_08']);
    expect((await listEventPartitions(db)).map((p) => p.name)).not.toContain('events_2026_08');
    const kept = (e: Stored) =>
      e.at >= Date.parse('2026-09-01') && !(e.source === 'app' && e.at < now.getTime() - 30 * DAY);
    const expected = all.filter(kept);
    expect(result.deletedEvents).toBe(all.filter((e) => !kept(e) && e.at < Date.parse('2026-08-01')).length + all.filter((e) => !kept(e) && e.at >= Date.parse('2026-09-01')).length);
    expect((await storedEvents(db)).map((e) => e.messageId).sort()).toEqual(expected.map((e) => e.messageId).sort());

    // What triggers could not see (the dropped month) left the roll-up and the ledger too; the
    // refreshed roll-ups lost the dropped month's customers and were recomputed for the days
    // deleted row by row, so no customer id outlives its events there either.
    expect(await rollUpDifferences(db)).toBe(0);
    expect(await ledgerDifferences(db)).toBe(0);
    expect(await customerDayDifferences(db)).toBe(0);
    expect(await touchDifferences(db)).toBe(0);
    expect(result.refreshedDays).toContain('2019-05-01');
    expect(result.refreshedDays).not.toContain('2026-08-10');
    const funnelAfter = await funnel(db, '2026-08-01', '2026-12-31');
    expect(funnelAfter).toEqual(recomputedFunnel(await storedEvents(db), '2026-08-01', '2026-12-31'));
    expect(funnelAfter).not.toEqual(funnelBefore);
  });

  test('a late event for an expired month waits in the default partition and goes at the next run', async () => {
    const db = database.db;
    const late: Stored = { source: 'shop', messageId: `late-${randomUUID()}`, customer: randomUUID(), event: 'Viewed', at: Date.parse('2026-08-20T10:00:00Z') };
    await store(db, [late]);
    const where = await sql<{ p: string }>`select tableoid::regclass::text as p from events where message_id = ${late.messageId}`.execute(db);
    expect(where.rows).toEqual([{ p: 'events_default' }]);
    const result = await expireEvents(db, sources, now);
    expect(result).toEqual({ droppedPartitions: [], deletedEvents: 1, refreshedDays: ['2026-08-20'] });
    expect((await storedEvents(db)).some((e) => e.messageId === late.messageId)).toBe(false);
    expect(await rollUpDifferences(db)).toBe(0);
    expect(await ledgerDifferences(db)).toBe(0);
  });

  test('a source that keeps its events forever keeps every month; shorter periods still expire row by row', async () => {
    const db = database.db;
    const before = (await listEventPartitions(db)).map((p) => p.name);
    const storedBefore = await storedEvents(db);
    const result = await expireEvents(db, [{ id: 'shop' }, { id: 'app', retentionDays: 20 }], now);
    expect(result.droppedPartitions).toEqual([]);
    expect((await listEventPartitions(db)).map((p) => p.name)).toEqual(before);
    const expected = storedBefore.filter((e) => !(e.source === 'app' && e.at < now.getTime() - 20 * DAY));
    expect(expected.length).toBeLessThan(storedBefore.length);
    expect((await storedEvents(db)).map((e) => e.messageId).sort()).toEqual(expected.map((e) => e.messageId).sort());
    expect(await rollUpDifferences(db)).toBe(0);
    expect(await ledgerDifferences(db)).toBe(0);
  });

  test('a run deletes at most its budget of rows per source; the next run goes on', async () => {
    const db = database.db;
    const many: Stored[] = Array.from({ length: 25 }, (_, i) => ({
      source: 'app', messageId: `budget-${i}-${randomUUID()}`, customer: randomUUID(), event: 'Viewed', at: Date.parse('2026-10-20T00:00:00Z') + i * 60_000,
    }));
    await store(db, many);
    const first = await expireEvents(db, sources, now, { batchSize: 5, maxBatches: 2 });
    expect(first.deletedEvents).toBe(10);
    const second = await expireEvents(db, sources, now, { batchSize: 100, maxBatches: 1 });
    expect(second.deletedEvents).toBe(15);
    expect(await rollUpDifferences(db)).toBe(0);
    expect(await ledgerDifferences(db)).toBe(0);
  });
});

describe(`retention of rejected events and the schedule on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test('rejected events older than their period are deleted, newer ones kept', async () => {
    const db = database.db;
    const tag = randomUUID();
    await db
      .insertInto('rejected_events')
      .values([
        { reason: tag, payload: 'old', errors: '[]', received_at: new Date(now.getTime() - 31 * DAY) },
        { reason: tag, payload: 'recent', errors: '[]', received_at: new Date(now.getTime() - 29 * DAY) },
      ])
      .execute();
    expect(await expireRejectedEvents(db, 30, now)).toBe(1);
    const left = await db.selectFrom('rejected_events').select('payload').where('reason', '=', tag).execute();
    expect(left).toEqual([{ payload: 'recent' }]);
  });

  test('the schedule makes this month and the next ones ready before it returns, runs at once, and stops', async () => {
    const db = database.db;
    const runs: unknown[] = [];
    const retention = await startRetention({ db, sources: [{ id: 'shop', retentionDays: 365 }], settings: { intervalMs: 60_000, rejectedRetentionDays: 30 }, onRun: (run) => runs.push(run) });
    const names = (await listEventPartitions(db)).map((p) => p.name);
    const current = new Date();
    for (let m = 0; m <= MONTHS_AHEAD; m++) {
      const month = new Date(Date.UTC(current.getUTCFullYear(), current.getUTCMonth() + m, 1));
      expect(names).toContain(`events_${month.toISOString().slice(0, 4)}_${month.toISOString().slice(5, 7)}`);
    }
    const run = await retention.run(new Date('2031-01-15T00:00:00Z'));
    expect(run.partitionsCreated).toBe(MONTHS_AHEAD + 1);
    await retention.stop();
    expect(runs.length).toBe(1);
  });
});
