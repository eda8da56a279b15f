/**
 * The referrer and UTM source roll-ups (migrations 20261203T0200 and 20261203T0400): what
 * `tally_refresh_daily_rollups` stores in `daily_referrer_counts` and `referrer_customer_days`
 * equals the same figures computed from the page events, and the dashboard's top referrers and
 * top UTM sources read from the roll-ups give what the same reports over the events give;
 * forgetting a customer removes their id at once.
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TOP_REFERRERS, TOP_UTM_SOURCES } from '../src/dashboard/queries.js';
import { renderSql } from '../src/dashboard/sql-text.js';
import type { Database } from '../src/db/schema/database.js';
import { forgetPerson } from '../src/privacy/forget.js';
import { refreshDailyRollups } from '../src/retention/index.js';
import { backend, shop, storeBatch, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

type Row = Record<string, unknown>;
const HOST = `'^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)'`;

/** Per day and referrer host: visitors and page views, from the roll-ups and straight from `events`. */
async function storedAndDirect(db: Kysely<Database>, from: string, to: string) {
  const stored = await sql<Row>`
    select c.day::text as day, c.referrer_host,
           (select count(distinct v.customer_id)::int from referrer_customer_days v where v.day = c.day and v.referrer_host = c.referrer_host) as visitors,
           c.pageviews::int as pageviews
      from daily_referrer_counts c
     where c.day between ${from}::date and ${to}::date
     order by 1, 2`.execute(db);
  const direct = await sql<Row>`
    select day, referrer_host, count(distinct customer_id)::int as visitors, count(*)::int as pageviews
      from (select ("timestamp" at time zone 'UTC')::date::text as day, customer_id,
                   substring(referrer from ${sql.raw(HOST)}) as referrer_host, substring(url from ${sql.raw(HOST)}) as own_host
              from events
             where type = 'page' and referrer is not null
               and "timestamp" >= ${from}::date::timestamp at time zone 'UTC' and "timestamp" < (${to}::date + 1)::timestamp at time zone 'UTC') p
     where referrer_host is not null and referrer_host is distinct from own_host
     group by 1, 2
     order by 1, 2`.execute(db);
  return { stored: stored.rows, direct: direct.rows };
}

describe(`referrer roll-ups on ${testEngine}`, () => {
  let database: TestDatabase;
  const send = (events: Record<string, unknown>[], writeKey?: string) => storeBatch(database, events, writeKey);
  const page = (anonymousId: string, timestamp: string, referrer: string, host = 'shop.example') =>
    trackEvent({ type: 'page', event: undefined, anonymousId, timestamp, properties: {}, context: { page: { url: `https://${host}/`, path: '/', referrer } } });

  beforeAll(async () => {
    database = await createTestDatabase();
    await send([
      page('ann', '2026-10-01T10:00:00.000Z', 'https://www.search.example/?q=mug'),
      page('ann', '2026-10-01T10:05:00.000Z', 'https://shop.example/products'), // a click inside the shop
      page('ann', '2026-10-02T08:00:00.000Z', 'https://social.example/post/1'),
      page('bob', '2026-10-01T11:00:00.000Z', 'https://www.search.example/'),
      page('bob', '2026-10-01T12:00:00.000Z', 'https://user@www.search.example:8443/x'),
      page('cid', '2026-10-02T09:00:00.000Z', 'android-app://com.example.mail'),
      page('cid', '2026-10-02T09:01:00.000Z', 'not a url'),
    ]);
    // Events that came with a campaign (track events: no referrer).
    const campaign = (anonymousId: string, timestamp: string, source: string) =>
      trackEvent({ event: 'Signed Up', anonymousId, timestamp, context: { page: { url: `https://shop.example/p?utm_source=${source}`, path: '/p' } } });
    await send([
      campaign('eve', '2026-10-01T13:00:00.000Z', 'newsletter'), campaign('eve', '2026-10-02T13:00:00.000Z', 'newsletter'),
      campaign('ann', '2026-10-02T08:01:00.000Z', 'google'), campaign('fay', '2026-10-02T23:59:59.000Z', 'newsletter'),
      campaign('fay', '2026-10-03T00:00:00.000Z', 'newsletter'),
    ]);
    // A second source, the server of a site of its own: the shop is another site to it.
    await send([page('dee', '2026-10-02T10:00:00.000Z', 'https://shop.example/', 'news.example')], backend.writeKey);
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  test('a refresh stores per day what a direct count over the page events gives', async () => {
    await refreshDailyRollups(database.db, { from: '2026-10-01', to: '2026-10-02' });
    const { stored, direct } = await storedAndDirect(database.db, '2026-10-01', '2026-10-02');
    expect(stored).toEqual(direct);
    // Worked out by hand.
    expect(stored).toEqual([
      { day: '2026-10-01', referrer_host: 'www.search.example', visitors: 2, pageviews: 3 },
      { day: '2026-10-02', referrer_host: 'com.example.mail', visitors: 1, pageviews: 1 },
      { day: '2026-10-02', referrer_host: 'shop.example', visitors: 1, pageviews: 1 },
      { day: '2026-10-02', referrer_host: 'social.example', visitors: 1, pageviews: 1 },
    ]);
  });

  test("the dashboard's top referrers over the roll-ups equal the same report over the events", async () => {
    await refreshDailyRollups(database.db, { from: '2026-10-01', to: '2026-10-02' });
    const range = { since: new Date('2026-10-01T00:00:00Z'), until: new Date('2026-10-03T00:00:00Z') };
    const fromRollups = await sql.raw<Row>(renderSql(TOP_REFERRERS, range)).execute(database.db);
    const fromEvents = await sql<Row>`
      select referrer_host, count(distinct customer_id) as visitors, count(*) as pageviews
        from (select customer_id, substring(referrer from ${sql.raw(HOST)}) as referrer_host, substring(url from ${sql.raw(HOST)}) as own_host
                from events
               where type = 'page' and referrer is not null and "timestamp" >= ${range.since} and "timestamp" < ${range.until}) as pages
       where referrer_host is not null and referrer_host is distinct from own_host
       group by referrer_host
       order by visitors desc, referrer_host
       limit 10`.execute(database.db);
    const numbers = (rows: Row[]) => rows.map((row) => ({ ...row, visitors: Number(row.visitors), pageviews: Number(row.pageviews) }));
    expect(numbers(fromRollups.rows)).toEqual(numbers(fromEvents.rows));
    expect(numbers(fromRollups.rows)[0]).toEqual({ referrer_host: 'www.search.example', visitors: 2, pageviews: 3 });
  });

  test("the dashboard's top UTM sources over the roll-ups equal the same report over the events", async () => {
    await refreshDailyRollups(database.db, { from: '2026-10-01', to: '2026-10-03' });
    const range = { since: new Date('2026-10-01T00:00:00Z'), until: new Date('2026-10-03T00:00:00Z') };
    const fromRollups = await sql.raw<Row>(renderSql(TOP_UTM_SOURCES, range)).execute(database.db);
    const fromEvents = await sql<Row>`
      select utm_source, count(distinct customer_id) as visitors, count(*) as events
        from events
       where utm_source is not null and "timestamp" >= ${range.since} and "timestamp" < ${range.until}
       group by utm_source
       order by visitors desc, utm_source
       limit 10`.execute(database.db);
    const numbers = (rows: Row[]) => rows.map((row) => ({ ...row, visitors: Number(row.visitors), events: Number(row.events) }));
    expect(numbers(fromRollups.rows)).toEqual(numbers(fromEvents.rows));
    // By hand: Eve twice and Fay once (her second is on 3 October, outside) from the newsletter; Ann from google.
    expect(numbers(fromRollups.rows)).toEqual([
      { utm_source: 'newsletter', visitors: 2, events: 3 },
      { utm_source: 'google', visitors: 1, events: 1 },
    ]);
  });

  test("forgetting a customer removes their id from the referrer roll-up at once; a refresh then fixes the days' counts", async () => {
    await refreshDailyRollups(database.db, { from: '2026-10-01', to: '2026-10-02' });
    const bob = (await sql<{ customer_id: string }>`select distinct customer_id::text from events where anonymous_id = 'bob'`.execute(database.db)).rows[0]!.customer_id;
    const held = async () => Number((await sql<{ n: number }>`select count(*) as n from referrer_customer_days where customer_id = ${bob}`.execute(database.db)).rows[0]!.n);
    expect(await held()).toBe(1);
    const eve = (await sql<{ customer_id: string }>`select distinct customer_id::text from events where anonymous_id = 'eve'`.execute(database.db)).rows[0]!.customer_id;
    const eveHeld = async () => Number((await sql<{ n: number }>`select count(*) as n from utm_source_customer_days where customer_id = ${eve}`.execute(database.db)).rows[0]!.n);
    expect(await eveHeld()).toBe(2);
    expect(await forgetPerson(database.db, { anonymousId: 'eve' }, { channel: 'test' })).not.toBeNull();
    expect(await eveHeld()).toBe(0);
    expect(await forgetPerson(database.db, { anonymousId: 'bob' }, { channel: 'test' })).not.toBeNull();
    expect(await held()).toBe(0);
    await refreshDailyRollups(database.db, { from: '2026-10-01', to: '2026-10-02' });
    const { stored, direct } = await storedAndDirect(database.db, '2026-10-01', '2026-10-02');
    expect(stored).toEqual(direct);
    expect(stored[0]).toEqual({ day: '2026-10-01', referrer_host: 'www.search.example', visitors: 1, pageviews: 1 });
  });
});
