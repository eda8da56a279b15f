import { randomUUID } from 'node:crypto';
import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrateToLatest } from '../src/db/migrate.js';
import { migrations } from '../src/db/migrations/index.js';
import type { Database } from '../src/db/schema/database.js';
import { forgetPerson } from '../src/privacy/forget.js';
import { writeBatch, type TestEvent } from './support/identity-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

interface DayTimes {
  event: string;
  customer_id: string;
  day: string;
  first_at: string;
  last_at: string;
}

/** A day row: its times, and the day's first event with what it carried. */
interface DayRow extends DayTimes {
  first_event_id: string;
  first_source_id: string;
  first_device_type: string | null;
  first_browser: string | null;
  first_os: string | null;
}

const rowsSql = (from: string) => `
  select event, customer_id::text, to_char(day, 'YYYY-MM-DD') as day,
         to_char(first_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') as first_at,
         to_char(last_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') as last_at,
         first_event_id::text, first_source_id, first_device_type, first_browser, first_os
    from ${from}
   order by event, customer_id, day`;

/** Only the times of some rows, for the tests that spell them out. */
function timesOf(rows: DayRow[]): DayTimes[] {
  return rows.map(({ event, customer_id, day, first_at, last_at }) => ({ event, customer_id, day, first_at, last_at }));
}

/** The roll-up as stored. */
async function stored(db: Kysely<Database>): Promise<DayRow[]> {
  return (await sql<DayRow>`${sql.raw(rowsSql('customer_event_days'))}`.execute(db)).rows;
}

/** The roll-up worked out from scratch: what the stored one must always equal. */
async function recomputed(db: Kysely<Database>): Promise<DayRow[]> {
  // The first event of a day: of those at its earliest time, the lowest id.
  const from = `(select r.*, f.id as first_event_id, f.source_id as first_source_id, f.device_type as first_device_type,
                        f.browser as first_browser, f.os as first_os
                   from (select event, customer_id, ("timestamp" at time zone 'UTC')::date as day, min("timestamp") as first_at, max("timestamp") as last_at
                           from events where event is not null and customer_id is not null group by 1, 2, 3) r
                   join events f on f.id = (select min(e.id) from events e
                                             where e.event = r.event and e.customer_id = r.customer_id and e."timestamp" = r.first_at)) r`;
  return (await sql<DayRow>`${sql.raw(rowsSql(from))}`.execute(db)).rows;
}

interface Inserted {
  customer: string | null;
  event: string | null;
  at: string;
  messageId?: string;
  source?: string;
  device?: string;
  browser?: string;
  os?: string;
}

async function insert(db: Kysely<Database>, rows: Inserted[]) {
  await sql`
    insert into events (message_id, source_id, type, event, customer_id, "timestamp", received_at, device_type, browser, os)
    select r.message_id, coalesce(r.source, 'rollup-test'), case when r.event is null then 'page' else 'track' end, r.event, r.customer_id::uuid,
           r.at::timestamptz, now(), r.device, r.browser, r.os
      from jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ ...r, customer_id: r.customer, message_id: r.messageId ?? randomUUID() })))}::jsonb)
           as r(message_id text, source text, event text, customer_id text, at text, device text, browser text, os text)
     where not exists (select 1 from events e where e.source_id = coalesce(r.source, 'rollup-test') and e.message_id = r.message_id)`.execute(db);
}

/** What a customer's day rows say of their first events, in key order. */
async function firstEvents(db: Kysely<Database>, customer: string) {
  return (await stored(db))
    .filter((r) => r.customer_id === customer)
    .map((r) => [r.event, r.day, r.first_source_id, r.first_device_type, r.first_browser, r.first_os]);
}

describe(`customer_event_days on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ poolSize: 8 });
  });
  afterAll(() => database.close());
  const db = () => database.db;

  test('holds the first and last time of each track event per customer and UTC day; pages and unknown customers stay out', async () => {
    const ann = randomUUID();
    await insert(db(), [
      { customer: ann, event: 'Product Viewed', at: '2026-06-01T23:59:59Z' },
      { customer: ann, event: 'Product Viewed', at: '2026-06-01T08:00:00Z' },
      { customer: ann, event: 'Product Viewed', at: '2026-06-02T00:00:00Z' },
      { customer: ann, event: 'Product Added', at: '2026-06-01T12:00:00Z' },
      { customer: ann, event: null, at: '2026-06-01T07:00:00Z' },
      { customer: null, event: 'Product Viewed', at: '2026-06-01T07:00:00Z' },
    ]);
    expect(timesOf((await stored(db())).filter((r) => r.customer_id === ann))).toEqual([
      { event: 'Product Added', customer_id: ann, day: '2026-06-01', first_at: '2026-06-01T12:00:00', last_at: '2026-06-01T12:00:00' },
      { event: 'Product Viewed', customer_id: ann, day: '2026-06-01', first_at: '2026-06-01T08:00:00', last_at: '2026-06-01T23:59:59' },
      { event: 'Product Viewed', customer_id: ann, day: '2026-06-02', first_at: '2026-06-02T00:00:00', last_at: '2026-06-02T00:00:00' },
    ]);
    expect(await stored(db())).toEqual(await recomputed(db()));
  });

  test('a late event widens its day backwards; a duplicate the events table skips changes nothing', async () => {
    const ben = randomUUID();
    await insert(db(), [{ customer: ben, event: 'Signed Up', at: '2026-06-03T10:00:00Z', messageId: 'ben-1' }]);
    await insert(db(), [{ customer: ben, event: 'Signed Up', at: '2026-06-03T09:00:00Z' }]);
    // Same message id, another time: the events table keeps the first, and so does the roll-up.
    await insert(db(), [{ customer: ben, event: 'Signed Up', at: '2026-06-03T23:00:00Z', messageId: 'ben-1' }]);
    expect(timesOf((await stored(db())).filter((r) => r.customer_id === ben))).toEqual([
      { event: 'Signed Up', customer_id: ben, day: '2026-06-03', first_at: '2026-06-03T09:00:00', last_at: '2026-06-03T10:00:00' },
    ]);
  });

  test('re-pointed events move their days to the surviving customer, merged with what it had', async () => {
    const [cat, dan] = [randomUUID(), randomUUID()];
    await insert(db(), [
      { customer: cat, event: 'Product Viewed', at: '2026-06-04T09:00:00Z', device: 'mobile' },
      { customer: cat, event: 'Product Viewed', at: '2026-06-05T09:00:00Z', device: 'mobile' },
      { customer: dan, event: 'Product Viewed', at: '2026-06-04T12:00:00Z', device: 'desktop' },
    ]);
    await sql`update events set customer_id = ${dan} where customer_id = ${cat}`.execute(db());
    const rows = timesOf((await stored(db())).filter((r) => r.customer_id === cat || r.customer_id === dan));
    expect(rows).toEqual([
      { event: 'Product Viewed', customer_id: dan, day: '2026-06-04', first_at: '2026-06-04T09:00:00', last_at: '2026-06-04T12:00:00' },
      { event: 'Product Viewed', customer_id: dan, day: '2026-06-05', first_at: '2026-06-05T09:00:00', last_at: '2026-06-05T09:00:00' },
    ]);
    // The merged day's first event is the browser's, earlier than the one dan had.
    expect((await firstEvents(db(), dan)).map((r) => r[3])).toEqual(['mobile', 'mobile']);
    expect(await stored(db())).toEqual(await recomputed(db()));
  });

  test('an edited or deleted event narrows its day, and a day with nothing left goes away', async () => {
    const eve = randomUUID();
    await insert(db(), [
      { customer: eve, event: 'Checkout Started', at: '2026-06-06T08:00:00Z' },
      { customer: eve, event: 'Checkout Started', at: '2026-06-06T20:00:00Z' },
      { customer: eve, event: 'Order Completed', at: '2026-06-06T21:00:00Z' },
    ]);
    await sql`update events set "timestamp" = '2026-06-06T18:00:00Z' where customer_id = ${eve} and "timestamp" = '2026-06-06T20:00:00Z'`.execute(db());
    await sql`delete from events where customer_id = ${eve} and event = 'Order Completed'`.execute(db());
    expect(timesOf((await stored(db())).filter((r) => r.customer_id === eve))).toEqual([
      { event: 'Checkout Started', customer_id: eve, day: '2026-06-06', first_at: '2026-06-06T08:00:00', last_at: '2026-06-06T18:00:00' },
    ]);
  });

  test("keeps the source, device, browser and OS of each day's first event: a late earlier event takes over, the lower id wins a tie, an edit or delete works them out again", async () => {
    const gil = randomUUID();
    await insert(db(), [
      { customer: gil, event: 'Product Viewed', at: '2026-06-07T10:00:00Z', source: 'web', device: 'desktop', browser: 'Firefox', os: 'Linux' },
      { customer: gil, event: 'Product Viewed', at: '2026-06-07T12:00:00Z', source: 'web', device: 'mobile', browser: 'Safari', os: 'iOS' },
      { customer: gil, event: 'Product Viewed', at: '2026-06-08T09:00:00Z', source: 'app', device: 'tablet' },
    ]);
    expect(await firstEvents(db(), gil)).toEqual([
      ['Product Viewed', '2026-06-07', 'web', 'desktop', 'Firefox', 'Linux'],
      ['Product Viewed', '2026-06-08', 'app', 'tablet', null, null],
    ]);

    // Sent late: one earlier in the day becomes its first; one at the very time of the next
    // day's first has the higher id, and changes nothing.
    await insert(db(), [
      { customer: gil, event: 'Product Viewed', at: '2026-06-07T09:00:00Z', source: 'web', device: 'mobile', browser: 'Chrome', os: 'Android' },
      { customer: gil, event: 'Product Viewed', at: '2026-06-08T09:00:00Z', source: 'web', device: 'desktop' },
    ]);
    expect(await firstEvents(db(), gil)).toEqual([
      ['Product Viewed', '2026-06-07', 'web', 'mobile', 'Chrome', 'Android'],
      ['Product Viewed', '2026-06-08', 'app', 'tablet', null, null],
    ]);

    // Two at one instant in one statement: the one with the lower id is the day's first.
    const hal = randomUUID();
    await insert(db(), [
      { customer: hal, event: 'Signed Up', at: '2026-06-09T08:00:00Z', device: 'mobile' },
      { customer: hal, event: 'Signed Up', at: '2026-06-09T08:00:00Z', device: 'desktop' },
    ]);
    const lowerId = await sql<{ device_type: string }>`
      select device_type from events where customer_id = ${hal} order by id limit 1`.execute(db());
    expect(await firstEvents(db(), hal)).toEqual([['Signed Up', '2026-06-09', 'rollup-test', lowerId.rows[0]!.device_type, null, null]]);

    // Editing the first event's device changes the row; deleting that event hands the day to the next.
    await sql`update events set device_type = 'tv' where customer_id = ${gil} and "timestamp" = '2026-06-07T09:00:00Z'`.execute(db());
    expect((await firstEvents(db(), gil))[0]).toEqual(['Product Viewed', '2026-06-07', 'web', 'tv', 'Chrome', 'Android']);
    await sql`delete from events where customer_id = ${gil} and "timestamp" = '2026-06-07T09:00:00Z'`.execute(db());
    expect((await firstEvents(db(), gil))[0]).toEqual(['Product Viewed', '2026-06-07', 'web', 'desktop', 'Firefox', 'Linux']);
    expect(await stored(db())).toEqual(await recomputed(db()));
  });

  test('forgetting a customer removes their days', async () => {
    const source = `forget-${randomUUID().slice(0, 8)}`;
    const ids = await writeBatch(db(), [
      { type: 'identify', sourceId: source, anonymousId: 'fay-browser', userId: 'fay', at: 0 },
      { type: 'track', sourceId: source, anonymousId: 'fay-browser', at: 1 },
      { type: 'track', sourceId: source, anonymousId: 'fay-browser', at: 60 * 30 },
    ]);
    const customer = (await db().selectFrom('events').select('customer_id').where('message_id', '=', ids[1]!).executeTakeFirstOrThrow()).customer_id!;
    expect((await stored(db())).some((r) => r.customer_id === customer)).toBe(true);
    await forgetPerson(db(), { userId: 'fay' }, { channel: 'cli' });
    expect((await stored(db())).some((r) => r.customer_id === customer)).toBe(false);
    expect(await stored(db())).toEqual(await recomputed(db()));
  });

  test('concurrent writers, merges included, leave it equal to the events: nothing lost, no deadlock', async () => {
    const source = `race-${randomUUID().slice(0, 8)}`;
    // 40 browsers track on the same few days; half of them log in as one of 4 users, which
    // merges browsers into each other while the others keep writing.
    const batches: TestEvent[][] = [];
    for (let b = 0; b < 40; b++) {
      const browser = `browser-${b}`;
      batches.push(Array.from({ length: 6 }, (_, i) => ({ type: 'track', sourceId: source, anonymousId: browser, at: (b * 37 + i * 301) % 2880 })));
      if (b % 2 === 0) {
        batches.push([
          { type: 'identify', sourceId: source, anonymousId: browser, userId: `user-${b % 8}`, at: (b * 53) % 2880 },
          { type: 'track', sourceId: source, anonymousId: browser, at: (b * 59) % 2880 },
        ]);
      }
    }
    const results = await Promise.allSettled(batches.map((events) => writeBatch(db(), events)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await stored(db())).toEqual(await recomputed(db()));
    const users = await sql<{ n: number }>`
      select count(distinct customer_id) as n from identities where source_id = ${source} and kind = 'user'`.execute(db());
    expect(users.rows[0]?.n).toBe(4);
  });
});

describe(`the customer_event_days migration on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test('rolls back to the funnel over events, and applied again fills the roll-up from the events already stored', async () => {
    const db = database.db;
    const gus = randomUUID();
    await insert(db, [
      { customer: gus, event: 'Product Viewed', at: '2026-06-08T10:00:00Z' },
      { customer: gus, event: 'Product Added', at: '2026-06-08T10:05:00Z' },
    ]);
    const funnelCounts = async () =>
      (await sql<{ customers: number }>`
        select customers from funnel(array['Product Viewed', 'Product Added'], '2026-06-08', '2026-06-09', '1 hour')`.execute(db)).rows.map((r) => r.customers);
    expect(await funnelCounts()).toEqual([1, 1]);

    // Down to the migration before the roll-up, through every later one.
    const later = Object.keys(migrations).filter((name) => name > '20261123T1100-marketing');
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const down = await migrator.migrateTo('20261123T1100-marketing');
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => r.migrationName)).toEqual([...later].reverse());
    const table = await sql<{ name: string | null }>`select to_regclass('customer_event_days')::text as name`.execute(db);
    expect(table.rows[0]?.name).toBeNull();
    await insert(db, [{ customer: gus, event: 'Product Viewed', at: '2026-06-08T11:00:00Z' }]);
    expect(await funnelCounts()).toEqual([1, 1]);

    expect(await migrateToLatest(db)).toEqual(later);
    expect(await stored(db)).toEqual(await recomputed(db));
    expect((await stored(db)).map((r) => [r.event, r.first_at, r.last_at])).toEqual([
      ['Product Added', '2026-06-08T10:05:00', '2026-06-08T10:05:00'],
      ['Product Viewed', '2026-06-08T10:00:00', '2026-06-08T11:00:00'],
    ]);
    expect(await funnelCounts()).toEqual([1, 1]);
  });
});
