import { randomUUID } from 'node:crypto';
import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrateToLatest } from '../src/db/migrate.js';
import { migrations } from '../src/db/migrations/index.js';
import { createEventPartitions, dropEventPartitionWithDays } from '../src/db/partitions.js';
import type { Database } from '../src/db/schema/database.js';
import { forgetPerson } from '../src/privacy/forget.js';
import { writeBatch, type TestEvent } from './support/identity-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

interface Touch {
  customer_id: string;
  at: string;
  event_id: string;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
}

const touchesSql = (from: string) => `
  select customer_id::text, to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') as at, event_id::text,
         utm_source, utm_medium, utm_campaign
    from ${from}
   order by customer_id, "timestamp", event_id`;

/** The touches as stored. */
async function stored(db: Kysely<Database>): Promise<Touch[]> {
  return (await sql<Touch>`${sql.raw(touchesSql('customer_campaign_touches'))}`.execute(db)).rows;
}

/** The touches worked out from the events: what the stored ones must always equal. */
async function recomputed(db: Kysely<Database>): Promise<Touch[]> {
  const from = `(select customer_id, "timestamp", id as event_id, utm_source, utm_medium, utm_campaign from events
                  where customer_id is not null and (utm_source is not null or utm_medium is not null or utm_campaign is not null)) t`;
  return (await sql<Touch>`${sql.raw(touchesSql(from))}`.execute(db)).rows;
}

interface Inserted {
  customer: string | null;
  at: string;
  source?: string;
  medium?: string;
  campaign?: string;
}

async function insert(db: Kysely<Database>, rows: Inserted[]) {
  await sql`
    insert into events (message_id, source_id, type, event, customer_id, "timestamp", received_at, utm_source, utm_medium, utm_campaign)
    select gen_random_uuid()::text, 'touch-test', 'page', null, r.customer_id::uuid, r.at::timestamptz, now(), r.source, r.medium, r.campaign
      from jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ ...r, customer_id: r.customer })))}::jsonb)
           as r(customer_id text, at text, source text, medium text, campaign text)`.execute(db);
}

/** One customer's touches, as (time, source, medium, campaign). */
async function touchesOf(db: Kysely<Database>, customer: string) {
  return (await stored(db)).filter((t) => t.customer_id === customer).map((t) => [t.at, t.utm_source, t.utm_medium, t.utm_campaign]);
}

describe(`customer_campaign_touches on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ poolSize: 8 });
    await createEventPartitions(database.db, '2026-06-01', '2026-07-01');
  });
  afterAll(() => database.close());
  const db = () => database.db;

  test('holds every event of a known customer that carries a campaign; events without one, and unknown customers, stay out', async () => {
    const ann = randomUUID();
    await insert(db(), [
      { customer: ann, at: '2026-06-01T08:00:00Z', source: 'google' },
      { customer: ann, at: '2026-06-01T09:00:00Z', medium: 'email' },
      { customer: ann, at: '2026-06-01T10:00:00Z', campaign: 'spring' },
      { customer: ann, at: '2026-06-01T11:00:00Z' },
      { customer: null, at: '2026-06-01T12:00:00Z', source: 'bing' },
    ]);
    expect(await touchesOf(db(), ann)).toEqual([
      ['2026-06-01T08:00:00', 'google', null, null],
      ['2026-06-01T09:00:00', null, 'email', null],
      ['2026-06-01T10:00:00', null, null, 'spring'],
    ]);
    expect(await stored(db())).toEqual(await recomputed(db()));
  });

  test('re-pointed events take their touches to the surviving customer', async () => {
    const [cat, dan] = [randomUUID(), randomUUID()];
    await insert(db(), [
      { customer: cat, at: '2026-06-02T08:00:00Z', source: 'newsletter' },
      { customer: dan, at: '2026-06-02T09:00:00Z', source: 'google' },
    ]);
    await sql`update events set customer_id = ${dan} where customer_id = ${cat}`.execute(db());
    expect(await touchesOf(db(), cat)).toEqual([]);
    expect(await touchesOf(db(), dan)).toEqual([
      ['2026-06-02T08:00:00', 'newsletter', null, null],
      ['2026-06-02T09:00:00', 'google', null, null],
    ]);
    expect(await stored(db())).toEqual(await recomputed(db()));
  });

  test('an edit moves, changes, adds or removes a touch; a deleted event takes its touch with it', async () => {
    const eve = randomUUID();
    await insert(db(), [
      { customer: eve, at: '2026-06-03T08:00:00Z', source: 'google' },
      { customer: eve, at: '2026-06-03T09:00:00Z', source: 'bing' },
      { customer: eve, at: '2026-06-03T10:00:00Z' },
      { customer: eve, at: '2026-06-03T11:00:00Z', source: 'facebook' },
    ]);
    // Moved to another month (another partition of events), and given a medium.
    await sql`update events set "timestamp" = '2026-07-01T07:00:00Z', utm_medium = 'cpc'
               where customer_id = ${eve} and "timestamp" = '2026-06-03T08:00:00Z'`.execute(db());
    await sql`update events set utm_source = null where customer_id = ${eve} and "timestamp" = '2026-06-03T09:00:00Z'`.execute(db());
    await sql`update events set utm_campaign = 'summer' where customer_id = ${eve} and "timestamp" = '2026-06-03T10:00:00Z'`.execute(db());
    await sql`delete from events where customer_id = ${eve} and "timestamp" = '2026-06-03T11:00:00Z'`.execute(db());
    // An update that changes nothing a touch holds leaves it as it is.
    await sql`update events set path = '/landing' where customer_id = ${eve}`.execute(db());
    expect(await touchesOf(db(), eve)).toEqual([
      ['2026-06-03T10:00:00', null, null, 'summer'],
      ['2026-07-01T07:00:00', 'google', 'cpc', null],
    ]);
    expect(await stored(db())).toEqual(await recomputed(db()));
  });

  test('forgetting a customer removes their touches', async () => {
    const source = `forget-${randomUUID().slice(0, 8)}`;
    const ids = await writeBatch(db(), [
      { type: 'identify', sourceId: source, anonymousId: 'fay-browser', userId: 'fay', at: 0 },
      { type: 'page', sourceId: source, anonymousId: 'fay-browser', at: 1, campaign: 'newsletter' },
    ]);
    const customer = (await db().selectFrom('events').select('customer_id').where('message_id', '=', ids[1]!).executeTakeFirstOrThrow()).customer_id!;
    expect(await touchesOf(db(), customer)).toEqual([[expect.any(String), 'newsletter', null, null]]);
    await forgetPerson(db(), { userId: 'fay' }, { channel: 'cli' });
    expect(await touchesOf(db(), customer)).toEqual([]);
    expect(await stored(db())).toEqual(await recomputed(db()));
  });

  test('a dropped month of events takes its touches with it, and no other', async () => {
    const gil = randomUUID();
    await createEventPartitions(db(), '2025-03-01', '2025-04-01');
    await insert(db(), [
      { customer: gil, at: '2025-03-31T23:59:59Z', source: 'google' },
      { customer: gil, at: '2025-04-01T00:00:00Z', source: 'bing' },
    ]);
    expect(await dropEventPartitionWithDays(db(), 'events_2025_03', '2025-03-01', '2025-04-01')).toBe(true);
    expect(await touchesOf(db(), gil)).toEqual([['2025-04-01T00:00:00', 'bing', null, null]]);
    expect(await stored(db())).toEqual(await recomputed(db()));
  });

  test("the funnel by campaign counts each customer under their latest touch at or before entry; of two at one instant, the greater value byte by byte", async () => {
    const [ivy, jon, kim] = [randomUUID(), randomUUID(), randomUUID()];
    await insert(db(), [
      { customer: ivy, at: '2026-06-10T08:00:00Z', source: 'google' },
      { customer: ivy, at: '2026-06-10T09:00:00Z', medium: 'email' },
      { customer: ivy, at: '2026-06-10T11:00:00Z', source: 'bing' },
      { customer: jon, at: '2026-06-10T09:00:00Z', source: 'Zeta' },
      { customer: jon, at: '2026-06-10T09:00:00Z', source: 'alpha' },
      { customer: kim, at: '2026-06-10T10:30:00Z', source: 'google' },
    ]);
    await sql`insert into events (message_id, source_id, type, event, customer_id, "timestamp", received_at)
              select gen_random_uuid()::text, 'touch-test', 'track', 'Signed Up', c::uuid, '2026-06-10T10:00:00Z', now()
                from unnest(${[ivy, jon, kim]}::text[]) c`.execute(db());
    const byValue = await sql<{ breakdown_value: string | null; customers: number }>`
      select breakdown_value, customers from funnel(array['Signed Up'], '2026-06-10', '2026-06-11', '1 hour', 'utm_source')`.execute(db());
    // ivy: google (her email touch carries no source; bing came after she entered); jon: alpha
    // over Zeta at one instant; kim: nothing before entry.
    expect(byValue.rows).toEqual([
      { breakdown_value: 'alpha', customers: 1 },
      { breakdown_value: 'google', customers: 1 },
      { breakdown_value: null, customers: 1 },
    ]);
  });

  test('concurrent writers, merges included, leave the touches equal to the events', async () => {
    const source = `race-${randomUUID().slice(0, 8)}`;
    const batches: TestEvent[][] = [];
    for (let b = 0; b < 30; b++) {
      const browser = `browser-${b}`;
      batches.push(
        Array.from({ length: 4 }, (_, i) => ({ type: 'page', sourceId: source, anonymousId: browser, at: (b * 37 + i * 301) % 2880, campaign: i % 2 === 0 ? `c-${b % 3}` : undefined })),
      );
      if (b % 2 === 0) batches.push([{ type: 'identify', sourceId: source, anonymousId: browser, userId: `user-${b % 6}`, at: (b * 53) % 2880 }]);
    }
    const results = await Promise.allSettled(batches.map((events) => writeBatch(db(), events)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const touches = await stored(db());
    expect(touches).toEqual(await recomputed(db()));
    expect(touches.length).toBeGreaterThanOrEqual(60);
  });
});

describe(`the customer_campaign_touches migration on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test('rolls back to the funnel over the events, and applied again fills the touches from the events already stored', async () => {
    const db = database.db;
    const [hal, ida] = [randomUUID(), randomUUID()];
    await insert(db, [{ customer: hal, at: '2026-06-08T09:00:00Z', source: 'google' }]);
    const entered = async () =>
      (await sql<{ breakdown_value: string | null; customers: number }>`
        select breakdown_value, customers from funnel(array['Product Viewed'], '2026-06-08', '2026-06-09', '1 hour', 'utm_source')`.execute(db)).rows;
    await sql`insert into events (message_id, source_id, type, event, customer_id, "timestamp", received_at)
              values ('hal-view', 'touch-test', 'track', 'Product Viewed', ${hal}, '2026-06-08T10:00:00Z', now()),
                     ('ida-view', 'touch-test', 'track', 'Product Viewed', ${ida}, '2026-06-08T10:00:00Z', now())`.execute(db);
    expect(await entered()).toEqual([
      { breakdown_value: 'google', customers: 1 },
      { breakdown_value: null, customers: 1 },
    ]);

    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const down = await migrator.migrateTo('20261205T0100-event-days-first-event');
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => r.migrationName)).toEqual(['20261207T0100-funnel-entry-time-once', '20261206T0100-campaign-touches']);
    const table = await sql<{ name: string | null }>`select to_regclass('customer_campaign_touches')::text as name`.execute(db);
    expect(table.rows[0]?.name).toBeNull();
    // Written while the table is gone: the funnel reads the events, and the table, made again, holds it.
    await insert(db, [{ customer: ida, at: '2026-06-08T08:00:00Z', source: 'bing' }]);
    expect(await entered()).toEqual([
      { breakdown_value: 'bing', customers: 1 },
      { breakdown_value: 'google', customers: 1 },
    ]);

    expect(await migrateToLatest(db)).toEqual(['20261206T0100-campaign-touches', '20261207T0100-funnel-entry-time-once']);
    expect(await stored(db)).toEqual(await recomputed(db));
    expect((await stored(db)).map((t) => t.utm_source)).toEqual(expect.arrayContaining(['google', 'bing']));
    expect(await entered()).toEqual([
      { breakdown_value: 'bing', customers: 1 },
      { breakdown_value: 'google', customers: 1 },
    ]);
  });
});
