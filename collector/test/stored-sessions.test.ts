import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generator } from './support/generator.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

interface Row {
  message_id: string;
  customer_id: string;
  at: string;
  type: string;
  event: string | null;
  name: string | null;
  path: string | null;
  utm_source: string | null;
  utm_campaign: string | null;
}

/**
 * Visits of a few customers over eight hours: events minutes apart (sometimes at the same
 * minute), gaps of more or less than 30 minutes, and campaigns that change or repeat.
 */
function visits(seed: number, customers: string[], count: number): Row[] {
  const g = generator(seed);
  const origin = Date.parse('2026-05-04T00:00:00Z');
  return Array.from({ length: count }, () => {
    const kind = g.next();
    const page = kind < 0.4;
    const screen = kind >= 0.4 && kind < 0.5;
    const campaign = g.next() < 0.25 ? g.pick(['spring', 'summer', 'autumn']) : null;
    return {
      message_id: randomUUID(),
      customer_id: g.pick(customers),
      at: new Date(origin + g.int(8 * 60) * 60_000).toISOString(),
      type: page ? 'page' : screen ? 'screen' : 'track',
      event: page || screen ? null : g.pick(['Product Viewed', 'Order Completed']),
      name: screen ? g.pick(['Home', 'Cart']) : null,
      path: page ? g.pick(['/', '/a', '/b']) : null,
      utm_source: campaign ? g.pick(['google', 'bing']) : null,
      utm_campaign: campaign,
    };
  });
}

async function insert(db: Kysely<any>, rows: Row[]): Promise<void> {
  await sql`
    insert into events (message_id, source_id, type, event, name, customer_id, "timestamp", received_at, path, url, utm_source, utm_campaign)
    select r.message_id, 'sessions-test', r.type, r.event, r.name, r.customer_id::uuid, r.at::timestamptz, now(), r.path,
           'https://shop.example' || r.path, r.utm_source, r.utm_campaign
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
           as r(message_id text, type text, event text, name text, customer_id text, at text, path text, utm_source text, utm_campaign text)`.execute(db);
}

/** The sessions as stored, and as computed from every event with events_with_session (the plain computation). */
async function storedAndComputed(db: Kysely<any>) {
  const columns = `session_id::text, customer_id::text, started_at, ended_at, landing_page, landing_path, referrer,
                   utm_source, utm_medium, utm_campaign, utm_term, utm_content, events::int, pageviews::int, completed_order,
                   screenviews::int, landing_screen`;
  const stored = (await sql.raw<Record<string, unknown>>(`select ${columns} from customer_sessions order by customer_id, started_at`).execute(db)).rows;
  const computed = (await sql.raw<Record<string, unknown>>(`
    select ${columns} from (
      select session_id, customer_id, min("timestamp") as started_at, max("timestamp") as ended_at,
             coalesce((array_agg(url order by "timestamp", id) filter (where type = 'page' and url is not null))[1],
                      (array_agg(url order by "timestamp", id) filter (where url is not null))[1]) as landing_page,
             coalesce((array_agg(path order by "timestamp", id) filter (where type = 'page' and path is not null))[1],
                      (array_agg(path order by "timestamp", id) filter (where path is not null))[1]) as landing_path,
             (array_agg(referrer order by "timestamp", id) filter (where referrer is not null))[1] as referrer,
             (array_agg(utm_source order by "timestamp", id) filter (where utm_source is not null))[1] as utm_source,
             (array_agg(utm_medium order by "timestamp", id) filter (where utm_medium is not null))[1] as utm_medium,
             (array_agg(utm_campaign order by "timestamp", id) filter (where utm_campaign is not null))[1] as utm_campaign,
             (array_agg(utm_term order by "timestamp", id) filter (where utm_term is not null))[1] as utm_term,
             (array_agg(utm_content order by "timestamp", id) filter (where utm_content is not null))[1] as utm_content,
             count(*) as events, count(*) filter (where type = 'page') as pageviews,
             coalesce(bool_or(event = 'Order Completed'), false) as completed_order,
             count(*) filter (where type = 'screen') as screenviews,
             (array_agg(name order by "timestamp", id) filter (where type = 'screen' and name is not null))[1] as landing_screen
        from events_with_session group by session_id, customer_id) s
     order by customer_id, started_at`).execute(db)).rows;
  return { stored, computed };
}

describe(`sessions kept at write time (customer_sessions) on ${testEngine}`, () => {
  let database: TestDatabase;
  const customers = Array.from({ length: 6 }, () => randomUUID());
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test('equal the sessions computed from the events after batches of late events, out of order', async () => {
    const rows = visits(7, customers, 240);
    // Later batches carry events older than earlier ones: each lands before, between or after
    // sessions already stored, joins them, splits them or starts a campaign inside them.
    for (let i = 0; i < rows.length; i += 40) {
      await insert(database.db, rows.slice(i, i + 40));
      const { stored, computed } = await storedAndComputed(database.db);
      expect(stored.length).toBeGreaterThan(0);
      expect(stored).toEqual(computed);
    }
  });

  test('a late event with the campaign last seen before its session does not start a new one', async () => {
    const zoe = randomUUID();
    const row = (at: string, campaign: string | null): Row => ({
      message_id: randomUUID(), customer_id: zoe, at, type: 'page', event: null, name: null, path: '/',
      utm_source: campaign ? 'google' : null, utm_campaign: campaign,
    });
    await insert(database.db, [row('2026-05-05T10:00:00Z', 'spring'), row('2026-05-05T11:00:00Z', null)]);
    // 11:10 carries spring, the campaign last seen (at 10:00, before the 11:00 session).
    await insert(database.db, [row('2026-05-05T11:10:00Z', 'spring')]);
    const { stored, computed } = await storedAndComputed(database.db);
    expect(stored.filter((s) => s.customer_id === zoe).map((s) => [s.started_at, s.events])).toEqual([
      [new Date('2026-05-05T10:00:00Z'), 1],
      [new Date('2026-05-05T11:00:00Z'), 2],
    ]);
    expect(stored).toEqual(computed);
    await sql`delete from events where customer_id = ${zoe}::uuid`.execute(database.db);
  });

  test('equal them after a merge moves one customer’s events to another, and after deletes and edits', async () => {
    const [from, into] = customers as [string, string];
    await sql`update events set customer_id = ${into}::uuid where customer_id = ${from}::uuid`.execute(database.db);
    let { stored, computed } = await storedAndComputed(database.db);
    expect(stored.filter((s) => s.customer_id === from)).toEqual([]);
    expect(stored).toEqual(computed);

    // Deleting every third event of a customer (forgetting, retention) and moving a campaign.
    await sql`delete from events where customer_id = ${customers[2]}::uuid and id % 3 = 0`.execute(database.db);
    await sql`update events set utm_campaign = 'winter', utm_source = 'google'
               where id in (select id from events where customer_id = ${customers[3]}::uuid order by "timestamp" limit 2)`.execute(database.db);
    await sql`update events set "timestamp" = "timestamp" - interval '3 hours' where customer_id = ${customers[4]}::uuid and id % 2 = 0`.execute(database.db);
    ({ stored, computed } = await storedAndComputed(database.db));
    expect(stored).toEqual(computed);

    await sql`delete from events where customer_id = ${customers[5]}::uuid`.execute(database.db);
    ({ stored, computed } = await storedAndComputed(database.db));
    expect(stored.filter((s) => s.customer_id === customers[5])).toEqual([]);
    expect(stored).toEqual(computed);
  });

  test('a session id is the same whatever the reader’s time zone', async () => {
    const { rows: utc } = await sql<{ session_id: string }>`select session_id::text from events_with_session order by id limit 1`.execute(database.db);
    await database.db.connection().execute(async (connection) => {
      await sql`set time zone 'Asia/Tokyo'`.execute(connection);
      try {
        const { rows: tokyo } = await sql<{ session_id: string }>`select session_id::text from events_with_session order by id limit 1`.execute(connection);
        expect(tokyo).toEqual(utc);
        const { stored, computed } = await storedAndComputed(connection);
        expect(stored).toEqual(computed);
      } finally {
        await sql`reset time zone`.execute(connection);
      }
    });
  });
});
