/**
 * The daily roll-ups the dashboard reads (migration 20261202T1600): what
 * `tally_refresh_daily_rollups` stores equals the same figures computed from `events`, through
 * late events, a forgotten customer and two sources; the collector's schedule refreshes
 * yesterday and today.
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '../src/db/schema/database.js';
import { forgetPerson } from '../src/privacy/forget.js';
import { recentRollupDays, refreshDailyRollups, startRetention } from '../src/retention/index.js';
import { backend, shop, storeBatch, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

/** Each roll-up table next to the same figures computed directly from `events`, days [from, to]. */
async function storedAndDirect(db: Kysely<Database>, from: string, to: string) {
  const range = sql`"timestamp" >= ${from}::date::timestamp at time zone 'UTC' and "timestamp" < (${to}::date + 1)::timestamp at time zone 'UTC'`;
  const rows = async (query: ReturnType<typeof sql>) => (await query.execute(db)).rows;
  return {
    stored: {
      counts: await rows(sql`select day::text, source_id, type, event, path, events::int from daily_event_counts
        where day between ${from}::date and ${to}::date order by 1, 2, 3, 4, 5`),
      customers: await rows(sql`select day::text, customer_id::text from customer_days
        where day between ${from}::date and ${to}::date order by 1, 2`),
      pages: await rows(sql`select day::text, path, customer_id::text from customer_page_days
        where day between ${from}::date and ${to}::date order by 1, 2, 3`),
    },
    direct: {
      counts: await rows(sql`select ("timestamp" at time zone 'UTC')::date::text as day, source_id, type, event,
          case when type = 'page' then path end as path, count(*)::int as events
        from events where ${range} group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`),
      customers: await rows(sql`select distinct ("timestamp" at time zone 'UTC')::date::text as day, customer_id::text
        from events where ${range} and customer_id is not null order by 1, 2`),
      pages: await rows(sql`select distinct ("timestamp" at time zone 'UTC')::date::text as day, path, customer_id::text
        from events where ${range} and type = 'page' and customer_id is not null order by 1, 2, 3`),
    },
  };
}

describe(`daily roll-ups on ${testEngine}`, () => {
  let database: TestDatabase;
  const send = (events: Record<string, unknown>[], writeKey?: string) => storeBatch(database, events, writeKey);
  const page = (anonymousId: string, timestamp: string, path: string) =>
    trackEvent({ type: 'page', event: undefined, anonymousId, timestamp, properties: {}, context: { page: { url: `https://shop.example${path}`, path } } });

  beforeAll(async () => {
    database = await createTestDatabase();
    await send([
      page('ann-laptop', '2026-09-01T00:00:00.000Z', '/'),
      page('ann-laptop', '2026-09-01T10:00:00.000Z', '/products/mug'),
      trackEvent({ event: 'Product Viewed', anonymousId: 'ann-laptop', timestamp: '2026-09-01T10:01:00.000Z', properties: { product_id: 'mug' } }),
      page('bob', '2026-09-01T23:59:59.999Z', '/products/mug'),
      page('bob', '2026-09-02T00:00:00.000Z', '/products/mug'),
      trackEvent({ event: 'Product Viewed', anonymousId: 'bob', timestamp: '2026-09-02T00:00:01.000Z', properties: { product_id: 'mug' } }),
      page('cid', '2026-09-03T12:00:00.000Z', '/'),
    ]);
    await send([trackEvent({ event: 'Order Completed', userId: 'ann', timestamp: '2026-09-02T09:00:00.000Z', properties: { order_id: 'o-1', revenue: 30, currency: 'EUR' } })], backend.writeKey);
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  test('a refresh stores per day what a direct count over events gives, for both sources', async () => {
    await refreshDailyRollups(database.db, { from: '2026-09-01', to: '2026-09-03' });
    const { stored, direct } = await storedAndDirect(database.db, '2026-09-01', '2026-09-03');
    expect(stored).toEqual(direct);
    expect(new Set(stored.counts.map((row: any) => row.source_id))).toEqual(new Set(['shop', 'backend']));
    expect(stored.counts.filter((row: any) => row.day === '2026-09-01' && row.path === '/products/mug')).toEqual([
      { day: '2026-09-01', source_id: 'shop', type: 'page', event: null, path: '/products/mug', events: 2 },
    ]);
    expect(stored.customers.filter((row: any) => row.day === '2026-09-02')).toHaveLength(2);
  });

  test('a late event is in its day once that day is refreshed, and other days are left as they were', async () => {
    await send([page('dee', '2026-09-01T15:00:00.000Z', '/late')]);
    const before = await storedAndDirect(database.db, '2026-09-01', '2026-09-01');
    expect(before.stored.counts.some((row: any) => row.path === '/late')).toBe(false);
    await refreshDailyRollups(database.db, { from: '2026-09-01', to: '2026-09-01' });
    const { stored, direct } = await storedAndDirect(database.db, '2026-09-01', '2026-09-03');
    expect(stored).toEqual(direct);
    expect(stored.counts.some((row: any) => row.path === '/late')).toBe(true);
  });

  test("forgetting a customer removes their id from the roll-ups at once; a refresh then fixes the days' counts", async () => {
    const bob = (await sql<{ customer_id: string }>`select distinct customer_id::text from events where anonymous_id = 'bob'`.execute(database.db)).rows[0]!.customer_id;
    const held = async () =>
      (await sql<{ rows: number }>`select (select count(*) from customer_days where customer_id = ${bob}) + (select count(*) from customer_page_days where customer_id = ${bob}) as rows`.execute(database.db)).rows[0]!.rows;
    expect(Number(await held())).toBeGreaterThan(0);
    expect(await forgetPerson(database.db, { anonymousId: 'bob' }, { channel: 'test' })).not.toBeNull();
    expect(Number(await held())).toBe(0);
    await refreshDailyRollups(database.db, { from: '2026-09-01', to: '2026-09-03' });
    const { stored, direct } = await storedAndDirect(database.db, '2026-09-01', '2026-09-03');
    expect(stored).toEqual(direct);
    expect(stored.customers.some((row: any) => row.customer_id === bob)).toBe(false);
    expect(stored.pages.some((row: any) => row.customer_id === bob)).toBe(false);
  });

  test('the schedule refreshes yesterday and today as it starts, and on demand', async () => {
    const now = new Date();
    const days = recentRollupDays(now);
    expect(days.to).toBe(now.toISOString().slice(0, 10));
    expect(Date.parse(days.to) - Date.parse(days.from)).toBe(86_400_000);
    await send([page('eve', now.toISOString(), '/today'), trackEvent({ event: 'Signed Up', anonymousId: 'eve', timestamp: now.toISOString() })]);
    const retention = await startRetention({ db: database.db, sources: [], settings: { intervalMs: 3_600_000, rejectedRetentionDays: 30, rollupIntervalMs: 60_000 }, onRun: () => undefined });
    await retention.stop();
    let { stored, direct } = await storedAndDirect(database.db, days.from, days.to);
    expect(stored.counts.some((row: any) => row.path === '/today')).toBe(true);
    expect(stored).toEqual(direct);

    await send([page('eve', now.toISOString(), '/today-again')]);
    const refresh = await startRetention({ db: database.db, sources: [], onRun: () => undefined });
    expect(await refresh.refreshRollups(now)).toEqual(days);
    await refresh.stop();
    ({ stored, direct } = await storedAndDirect(database.db, days.from, days.to));
    expect(stored.counts.some((row: any) => row.path === '/today-again')).toBe(true);
    expect(stored).toEqual(direct);
  });
});
