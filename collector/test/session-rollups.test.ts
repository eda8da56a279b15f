/**
 * The session roll-up (migration 20261203T0100): what the refresh stores in
 * `daily_session_counts` equals the same counts taken over the `sessions` view, through a
 * session crossing midnight, a campaign seen before the refreshed days, a late event that
 * joins two sessions, a merge of two customers, two sources, and a session that runs on for
 * more than a day after the refreshed days.
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '../src/db/schema/database.js';
import { refreshDailyRollups } from '../src/retention/index.js';
import { backend, shop, storeBatch, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

type Row = Record<string, unknown>;

/** The roll-up's rows for sessions begun on days [from, to], and the same counted over `sessions`. */
async function storedAndPlain(db: Kysely<Database>, from: string, to: string): Promise<{ stored: Row[]; plain: Row[] }> {
  const stored = await sql<Row>`
    select day::text as day, utm_source, utm_medium, utm_campaign, referrer_host, landing_path,
           sessions::int as sessions, events::int as events, pageviews::int as pageviews, converted::int as converted
      from daily_session_counts
     where day between ${from}::date and ${to}::date
     order by 1, 2, 3, 4, 5, 6`.execute(db);
  const plain = await sql<Row>`
    select (started_at at time zone 'UTC')::date::text as day, utm_source, utm_medium, utm_campaign,
           substring(referrer from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)') as referrer_host, landing_path,
           count(*)::int as sessions, sum(events)::int as events, sum(pageviews)::int as pageviews,
           (count(*) filter (where completed_order))::int as converted
      from sessions
     where started_at >= ${from}::date::timestamp at time zone 'UTC' and started_at < (${to}::date + 1)::timestamp at time zone 'UTC'
     group by 1, 2, 3, 4, 5, 6
     order by 1, 2, 3, 4, 5, 6`.execute(db);
  return { stored: stored.rows, plain: plain.rows };
}

describe(`session roll-up on ${testEngine}`, () => {
  let database: TestDatabase;
  const send = (events: Record<string, unknown>[], writeKey?: string) => storeBatch(database, events, writeKey);
  const page = (anonymousId: string, timestamp: string, path: string, extra: { query?: string; referrer?: string } = {}) =>
    trackEvent({
      type: 'page',
      event: undefined,
      anonymousId,
      timestamp,
      properties: {},
      context: { page: { url: `https://shop.example${path}${extra.query ?? ''}`, path, ...(extra.referrer ? { referrer: extra.referrer } : {}) } },
    });
  const sessionsOn = async (day: string) =>
    (await sql<{ sessions: number }>`select coalesce(sum(sessions), 0)::int as sessions from daily_session_counts where day = ${day}::date`.execute(database.db)).rows[0]!.sessions;

  beforeAll(async () => {
    database = await createTestDatabase();
    await send([
      // Ann: a newsletter visit from 23:50 that goes on after midnight (one session, on 1 September);
      // her page at 00:10 carries the same campaign again, which does not start a session.
      page('ann', '2026-09-01T23:50:00.000Z', '/', { query: '?utm_source=newsletter&utm_medium=email&utm_campaign=autumn', referrer: 'https://mail.example/inbox' }),
      page('ann', '2026-09-02T00:10:00.000Z', '/products/mug', { query: '?utm_source=newsletter&utm_campaign=autumn' }),
      trackEvent({ event: 'Product Viewed', anonymousId: 'ann', timestamp: '2026-09-02T00:15:00.000Z', properties: { product_id: 'mug' } }),
      // Then a visit with no campaign, and a new campaign five minutes into it: two sessions on 2 September.
      page('ann', '2026-09-02T10:00:00.000Z', '/'),
      page('ann', '2026-09-02T10:05:00.000Z', '/sale', { query: '?utm_source=google&utm_medium=cpc&utm_campaign=winter' }),
      // Bob on his laptop, from a search engine; on his phone twenty minutes later.
      page('bob-laptop', '2026-09-02T09:00:00.000Z', '/products/teapot', { referrer: 'https://www.search.example/?q=teapot' }),
      page('bob-phone', '2026-09-02T09:20:00.000Z', '/cart'),
      // Cid: two visits an hour apart (a third event will arrive late between them).
      page('cid', '2026-09-01T20:00:00.000Z', '/'),
      page('cid', '2026-09-01T21:00:00.000Z', '/about'),
    ]);
    // Bob logs in on the laptop; his order comes from the shop's server (a second source).
    await send([trackEvent({ type: 'identify', event: undefined, anonymousId: 'bob-laptop', userId: 'bob', timestamp: '2026-09-02T09:01:00.000Z', traits: {} })]);
    await send([trackEvent({ event: 'Order Completed', userId: 'bob', timestamp: '2026-09-02T09:05:00.000Z', properties: { order_id: 'o-1', revenue: 30, currency: 'EUR' } })], backend.writeKey);
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  test('a refresh stores per day what the sessions view gives, a session counting on the day it began', async () => {
    await refreshDailyRollups(database.db, { from: '2026-09-01', to: '2026-09-03' });
    const { stored, plain } = await storedAndPlain(database.db, '2026-09-01', '2026-09-03');
    expect(stored).toEqual(plain);
    // Worked out by hand: 1 September has Ann's newsletter visit (on past midnight, 3 events)
    // and Cid's two visits; 2 September Ann's two visits and Bob's laptop and phone visits.
    expect(stored.filter((row) => row.day === '2026-09-01')).toEqual([
      { day: '2026-09-01', utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'autumn', referrer_host: 'mail.example', landing_path: '/', sessions: 1, events: 3, pageviews: 2, converted: 0 },
      { day: '2026-09-01', utm_source: null, utm_medium: null, utm_campaign: null, referrer_host: null, landing_path: '/', sessions: 1, events: 1, pageviews: 1, converted: 0 },
      { day: '2026-09-01', utm_source: null, utm_medium: null, utm_campaign: null, referrer_host: null, landing_path: '/about', sessions: 1, events: 1, pageviews: 1, converted: 0 },
    ].sort(byKey));
    expect(await sessionsOn('2026-09-02')).toBe(4);
    expect(stored).toContainEqual({
      day: '2026-09-02', utm_source: null, utm_medium: null, utm_campaign: null, referrer_host: 'www.search.example', landing_path: '/products/teapot',
      sessions: 1, events: 3, pageviews: 1, converted: 1,
    });
  });

  test('refreshing one day leaves a session begun the day before to that day, and knows the campaign seen before', async () => {
    await sql`delete from daily_session_counts`.execute(database.db);
    await refreshDailyRollups(database.db, { from: '2026-09-02', to: '2026-09-02' });
    const { stored, plain } = await storedAndPlain(database.db, '2026-09-02', '2026-09-02');
    expect(stored).toEqual(plain);
    expect(await sessionsOn('2026-09-02')).toBe(4);
    expect(await sessionsOn('2026-09-01')).toBe(0);
  });

  test('a late event joining two visits, and a merge joining two devices, show once their day is refreshed', async () => {
    await refreshDailyRollups(database.db, { from: '2026-09-01', to: '2026-09-02' });
    await send([page('cid', '2026-09-01T20:30:00.000Z', '/late')]);
    await send([trackEvent({ type: 'identify', event: undefined, anonymousId: 'bob-phone', userId: 'bob', timestamp: '2026-09-02T09:21:00.000Z', traits: {} })]);
    // Not yet refreshed: the roll-up still has Cid's two visits and Bob's two devices apart.
    expect(await sessionsOn('2026-09-01')).toBe(3);
    expect(await sessionsOn('2026-09-02')).toBe(4);
    await refreshDailyRollups(database.db, { from: '2026-09-01', to: '2026-09-02' });
    const { stored, plain } = await storedAndPlain(database.db, '2026-09-01', '2026-09-02');
    expect(stored).toEqual(plain);
    expect(await sessionsOn('2026-09-01')).toBe(2);
    expect(await sessionsOn('2026-09-02')).toBe(3);
    expect(stored).toContainEqual({
      day: '2026-09-02', utm_source: null, utm_medium: null, utm_campaign: null, referrer_host: 'www.search.example', landing_path: '/products/teapot',
      sessions: 1, events: 5, pageviews: 2, converted: 1,
    });
  });

  test('a session that runs on for more than a day after the refreshed days is read to its end', async () => {
    // Dee: an event every 20 minutes from 23:40 on 3 September to 00:40 on 5 September; the
    // source appears only on the last one (no campaign: it does not start a session).
    const visit: Row[] = [];
    for (let at = Date.parse('2026-09-03T23:40:00.000Z'); at <= Date.parse('2026-09-05T00:40:00.000Z'); at += 20 * 60_000) {
      visit.push(page('dee', new Date(at).toISOString(), '/long'));
    }
    visit.push(page('dee', '2026-09-05T01:00:00.000Z', '/long', { query: '?utm_source=partner' }));
    await send(visit);
    await refreshDailyRollups(database.db, { from: '2026-09-03', to: '2026-09-03' });
    const { stored, plain } = await storedAndPlain(database.db, '2026-09-03', '2026-09-03');
    expect(stored).toEqual(plain);
    expect(stored).toEqual([
      { day: '2026-09-03', utm_source: 'partner', utm_medium: null, utm_campaign: null, referrer_host: null, landing_path: '/long', sessions: 1, events: visit.length, pageviews: visit.length, converted: 0 },
    ]);
  });
});

/** Rows in the order the queries above sort them (nulls last, as Postgres sorts ascending). */
function byKey(a: Row, b: Row): number {
  for (const key of ['day', 'utm_source', 'utm_medium', 'utm_campaign', 'referrer_host', 'landing_path']) {
    const x = a[key] as string | null;
    const y = b[key] as string | null;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}
