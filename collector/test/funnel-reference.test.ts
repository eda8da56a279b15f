import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { referenceFunnel, type ReferenceEvent, type ReferenceStep } from './support/funnel-reference.js';
import { generator } from './support/generator.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const names = ['Viewed', 'Added', 'Checkout', 'Ordered'] as const;
const sources = ['google', 'newsletter', 'bing'] as const;
const origin = Date.parse('2026-05-04T00:00:00Z');
const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

interface StoredEvent extends ReferenceEvent {
  type: 'track' | 'page';
}

/**
 * The browser a stored event carries: a landing page's is its campaign source (as its
 * utm_source); two track events in three carry one named after their minute, so that the
 * entry event itself often has one (and events at the same instant always agree), and the
 * third carries none, so that an earlier event's is looked for.
 */
function browserOf(e: StoredEvent): string | null {
  if (e.type === 'page') return e.breakdown ?? null;
  const minuteOf = Math.floor(e.at / minute);
  return minuteOf % 3 === 0 ? null : `browser-${minuteOf % 2}`;
}

/**
 * Shoppers over four days: track events at whole minutes (so that two events of a customer
 * sometimes share a time, which strict order must not count), and a few landing pages at
 * half minutes carrying a campaign source for the breakdown.
 */
function shoppers(seed: number, customers: number, start = origin): StoredEvent[] {
  const random = generator(seed);
  const events: StoredEvent[] = [];
  for (let c = 0; c < customers; c++) {
    const customer = randomUUID();
    const busy = random.next() < 0.3;
    const count = busy ? 10 + random.int(20) : 1 + random.int(8);
    const firstMinute = random.int(4 * 24 * 60);
    const spread = random.pick([30, 6 * 60, 36 * 60, 4 * 24 * 60]);
    for (let i = 0; i < count; i++) {
      events.push({
        customer,
        type: 'track',
        event: random.next() < 0.45 ? 'Viewed' : random.pick(names),
        at: start + (firstMinute + random.int(spread)) * minute,
      });
    }
    const landings = random.int(3);
    for (let i = 0; i < landings; i++) {
      events.push({
        customer,
        type: 'page',
        event: '',
        at: start + (firstMinute + random.int(spread)) * minute + 30_000 + i,
        breakdown: random.next() < 0.8 ? random.pick(sources) : null,
      });
    }
  }
  return events;
}

async function store(database: TestDatabase, events: StoredEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    await database.db
      .insertInto('events')
      .values(
        events.slice(i, i + 500).map((e) => ({
          message_id: randomUUID(),
          source_id: 'funnel-reference',
          type: e.type,
          event: e.type === 'track' ? e.event : null,
          customer_id: e.customer,
          timestamp: new Date(e.at).toISOString(),
          received_at: new Date(e.at).toISOString(),
          // A campaign column and another: funnel() reads the two differently (docs/sql.md),
          // and both must give the written answer.
          utm_source: e.breakdown ?? null,
          browser: browserOf(e),
        })),
      )
      .execute();
  }
}

interface Case {
  steps: string[];
  since: number;
  until: number;
  within: number;
  breakdown: 'utm_source' | 'browser' | null;
}

/** Ranges that start and end mid-day, on one day, across days, and over everything. */
function cases(seed: number, count: number, start = origin): Case[] {
  const random = generator(seed);
  const result: Case[] = [];
  const stepSets = [
    ['Viewed', 'Added', 'Checkout', 'Ordered'],
    ['Viewed', 'Added'],
    ['Viewed', 'Viewed'],
    ['Added', 'Viewed', 'Added'],
    ['Viewed', 'Checkout', 'Checkout'],
    ['Viewed'],
  ];
  for (let i = 0; i < count; i++) {
    const since = start + random.int(4 * 24) * hour + random.pick([0, 0, 17 * minute]);
    const length = random.pick([3 * hour, 20 * hour, day, 2 * day + 5 * hour, 5 * day]);
    result.push({
      steps: random.pick(stepSets),
      since,
      until: since + length,
      within: random.pick([45 * minute, 6 * hour, day, 3 * day]),
      breakdown: random.next() < 0.3 ? random.pick(['utm_source', 'browser'] as const) : null,
    });
  }
  for (const breakdown of [null, 'utm_source', 'browser'] as const) {
    result.push({ steps: stepSets[0]!, since: start - day, until: start + 6 * day, within: 7 * day, breakdown });
  }
  return result;
}

async function funnelRows(database: TestDatabase, c: Case): Promise<ReferenceStep[]> {
  const { rows } = await sql<{ step: number; breakdown_value: string | null; customers: number; median_seconds: number | null }>`
    select step, breakdown_value, customers, extract(epoch from median_time_from_previous)::float8 as median_seconds
      from funnel(${c.steps}::text[], ${new Date(c.since).toISOString()}::timestamptz, ${new Date(c.until).toISOString()}::timestamptz,
                  make_interval(secs => ${c.within / 1000}), ${c.breakdown}::text)`.execute(database.db);
  return rows.map((r) => ({ step: r.step, breakdownValue: r.breakdown_value, customers: r.customers, medianSeconds: r.median_seconds }));
}

function describeCase(c: Case): string {
  return `${JSON.stringify(c.steps)} from ${new Date(c.since).toISOString()} to ${new Date(c.until).toISOString()} within ${c.within / minute} min${c.breakdown ? ` by ${c.breakdown}` : ''}`;
}

async function expectReference(database: TestDatabase, events: StoredEvent[], all: Case[]): Promise<void> {
  for (const c of all) {
    const carrying = c.breakdown === 'browser' ? events.map((e) => ({ ...e, breakdown: browserOf(e) })) : events;
    const expected = referenceFunnel(carrying, c.steps, c.since, c.until, c.within, { breakdown: c.breakdown !== null });
    const actual = await funnelRows(database, c);
    expect(actual, describeCase(c)).toEqual(
      expected.map((r) => ({ ...r, medianSeconds: r.medianSeconds === null ? null : expect.closeTo(r.medianSeconds, 3) })),
    );
  }
}

describe(`funnel() against its written semantics on ${testEngine}`, () => {
  let database: TestDatabase;
  let events: StoredEvent[];
  beforeAll(async () => {
    database = await createTestDatabase();
    events = shoppers(20261123, 120);
    await store(database, events);
  });
  afterAll(() => database.close());

  test('random shoppers: every step, count and median agree with the reference, across ranges and windows', async () => {
    await expectReference(database, events, cases(7, 40));
  });

  test('after merges, forgotten customers and late events, funnels still agree', async () => {
    const random = generator(99);
    const customers = [...new Set(events.map((e) => e.customer))];

    // Identity stitching re-points one customer's events onto another's.
    for (let i = 0; i < 10; i++) {
      const from = customers[random.int(customers.length)]!;
      const into = customers[random.int(customers.length)]!;
      if (from === into) continue;
      await sql`update events set customer_id = ${into} where customer_id = ${from}`.execute(database.db);
      for (const e of events) if (e.customer === from) e.customer = into;
    }
    // Forgetting deletes every event of a customer; a correction deletes a single event.
    const forgotten = customers[random.int(customers.length)]!;
    await sql`delete from events where customer_id = ${forgotten}`.execute(database.db);
    events = events.filter((e) => e.customer !== forgotten);
    const corrected = events.find((e) => e.type === 'track')!;
    await sql`delete from events where customer_id = ${corrected.customer} and "timestamp" = ${new Date(corrected.at).toISOString()} and event = ${corrected.event}`.execute(database.db);
    events = events.filter((e) => !(e.customer === corrected.customer && e.at === corrected.at && e.event === corrected.event));
    // Late events land before what a customer already has.
    const late = shoppers(4242, 20).map((e, i) => ({ ...e, customer: events[i * 7 % events.length]!.customer, at: e.at - 2 * hour }));
    await store(database, late);
    events.push(...late);

    await expectReference(database, events, cases(8, 25));
  });
});

describe(`funnel() across a month boundary, each month in a partition of its own, on ${testEngine}`, () => {
  // Shoppers from 29 April into May: the entries, the probes for earlier steps and the
  // campaign touches of one funnel are read from two partitions.
  const start = Date.parse('2026-04-29T00:00:00Z');
  let database: TestDatabase;
  let events: StoredEvent[];
  beforeAll(async () => {
    database = await createTestDatabase();
    await sql`select tally_create_event_partitions('2026-04-01', '2026-05-01')`.execute(database.db);
    events = shoppers(20261202, 120, start);
    await store(database, events);
  });
  afterAll(() => database.close());

  test("the shoppers' events lie in April's partition and in May's", async () => {
    const { rows } = await sql<{ partition: string }>`select distinct tableoid::regclass::text as partition from events order by 1`.execute(database.db);
    expect(rows.map((r) => r.partition)).toEqual(['events_2026_04', 'events_2026_05']);
  });

  test('random shoppers either side of 1 May: every step, count and median agree with the reference', async () => {
    const all = cases(11, 40, start);
    const firstOfMay = Date.parse('2026-05-01T00:00:00Z');
    // Most ranges, and every window that reaches back from May, cross the boundary.
    expect(all.filter((c) => c.since < firstOfMay && c.until > firstOfMay).length).toBeGreaterThan(10);
    await expectReference(database, events, all);
  });
});

describe(`funnel() by a column the day rows keep, worked by hand, on ${testEngine}`, () => {
  let database: TestDatabase;
  const [cat, dot, eli] = [randomUUID(), randomUUID(), randomUUID()];
  beforeAll(async () => {
    database = await createTestDatabase();
    const rows: [customer: string, type: 'page' | 'track', event: string | null, at: string, device: string | null][] = [
      // Enters on a phone at 09:00; the same day's later view is on a desktop. Adds nothing.
      [cat, 'track', 'Product Viewed', '2026-04-10T09:00:00Z', 'mobile'],
      [cat, 'track', 'Product Viewed', '2026-04-10T15:00:00Z', 'desktop'],
      // Enters on an event without a device: the page before it, on a tablet, says which.
      [dot, 'page', null, '2026-04-10T08:00:00Z', 'tablet'],
      [dot, 'track', 'Product Viewed', '2026-04-10T09:00:00Z', null],
      // The day's first view is on a desktop, the afternoon's on a phone.
      [eli, 'track', 'Product Viewed', '2026-04-10T09:00:00Z', 'desktop'],
      [eli, 'track', 'Product Viewed', '2026-04-10T14:00:00Z', 'mobile'],
      [eli, 'track', 'Product Added', '2026-04-10T14:10:00Z', 'mobile'],
    ];
    await database.db
      .insertInto('events')
      .values(rows.map(([customer, type, event, at, device]) => ({
        message_id: randomUUID(), source_id: 'by-hand', type, event, customer_id: customer, timestamp: at, received_at: at, device_type: device,
      })))
      .execute();
  });
  afterAll(() => database.close());

  const byDevice = async (since: string, until: string) =>
    (await sql<{ breakdown_value: string | null; step: number; customers: number }>`
      select breakdown_value, step, customers
        from funnel(array['Product Viewed', 'Product Added'], ${since}::timestamptz, ${until}::timestamptz, '1 day', 'device_type')`.execute(database.db))
      .rows.map((r) => [r.breakdown_value, r.step, r.customers]);

  test('from midnight: each customer under the device of the view they entered on, or the latest before it that has one', async () => {
    expect(await byDevice('2026-04-10', '2026-04-12')).toEqual([
      ['desktop', 1, 1], ['desktop', 2, 1], // eli, who entered at 09:00
      ['mobile', 1, 1], ['mobile', 2, 0], // cat
      ['tablet', 1, 1], ['tablet', 2, 0], // dot, from the page before the view
    ]);
  });

  test('from noon, across days and within one: an entry after the day began is under its own device, not the day\'s first', async () => {
    const expected = [
      ['desktop', 1, 1], ['desktop', 2, 0], // cat, who entered at 15:00
      ['mobile', 1, 1], ['mobile', 2, 1], // eli, who entered at 14:00
    ];
    expect(await byDevice('2026-04-10T12:00:00Z', '2026-04-12')).toEqual(expected);
    expect(await byDevice('2026-04-10T12:00:00Z', '2026-04-10T23:00:00Z')).toEqual(expected);
  });
});
