import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '../src/db/schema/database.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

/** Customers of the hand-built journeys, by the role they play in the assertions. */
const customer = {
  ann: '00000000-0000-4000-8000-00000000000a',
  ben: '00000000-0000-4000-8000-00000000000b',
  cat: '00000000-0000-4000-8000-00000000000c',
  dan: '00000000-0000-4000-8000-00000000000d',
  eve: '00000000-0000-4000-8000-00000000000e',
  fay: '00000000-0000-4000-8000-00000000000f',
  gus: '00000000-0000-4000-8000-000000000010',
} as const;

interface JourneyEvent {
  customer: string;
  at: string;
  type?: string;
  event?: string;
  anonymousId?: string;
  userId?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  url?: string;
  utm?: { source?: string; medium?: string; campaign?: string };
}

const grantedAnalytics = { consent: { categoryPreferences: { analytics: true, marketing: false } } };
const grantedAll = { consent: { categoryPreferences: { analytics: true, marketing: true } } };

/**
 * Journeys whose sessions, profiles, orders and funnels are worked out by hand in the tests.
 * Day 0 is Monday 2 March 2026 (UTC).
 */
const journeys: JourneyEvent[] = [
  // Ann: arrives from a Google ad, browses anonymously, logs in and buys; the next day she
  // buys again from a second device, and the shop reports that second order twice.
  { customer: customer.ann, at: '2026-03-02T10:00:00Z', type: 'page', anonymousId: 'ann-laptop', url: 'https://shop.test/?utm_source=google', utm: { source: 'google', medium: 'cpc', campaign: 'spring' }, context: grantedAnalytics },
  { customer: customer.ann, at: '2026-03-02T10:05:00Z', event: 'Product Viewed', anonymousId: 'ann-laptop', properties: { product_id: 'p1' }, context: grantedAnalytics },
  { customer: customer.ann, at: '2026-03-02T10:10:00Z', event: 'Product Added', anonymousId: 'ann-laptop', properties: { product_id: 'p1', price: 25, quantity: 2 }, context: grantedAnalytics },
  { customer: customer.ann, at: '2026-03-02T10:20:00Z', type: 'identify', anonymousId: 'ann-laptop', userId: 'u-ann', traits: { email: 'ann@shop.test', name: 'Ann Archer' }, context: grantedAnalytics },
  { customer: customer.ann, at: '2026-03-02T10:25:00Z', event: 'Checkout Started', anonymousId: 'ann-laptop', userId: 'u-ann', context: grantedAnalytics },
  { customer: customer.ann, at: '2026-03-02T10:30:00Z', event: 'Order Completed', anonymousId: 'ann-laptop', userId: 'u-ann', properties: { order_id: 'o-1', revenue: 50, products: [{ product_id: 'p1', price: 25, quantity: 2 }] }, context: grantedAnalytics },
  { customer: customer.ann, at: '2026-03-03T09:00:00Z', type: 'page', anonymousId: 'ann-phone', userId: 'u-ann', url: 'https://shop.test/products/p2', context: grantedAll },
  { customer: customer.ann, at: '2026-03-03T09:05:00Z', event: 'Product Viewed', anonymousId: 'ann-phone', userId: 'u-ann', properties: { product_id: 'p2' }, context: grantedAll },
  { customer: customer.ann, at: '2026-03-03T09:10:00Z', event: 'Order Completed', anonymousId: 'ann-phone', userId: 'u-ann', properties: { order_id: 'o-2', total: '30', products: [{ product_id: 'p2', price: 30 }] }, context: grantedAll },
  { customer: customer.ann, at: '2026-03-03T09:11:00Z', event: 'Order Completed', anonymousId: 'ann-phone', userId: 'u-ann', properties: { order_id: 'o-2', total: '30', products: [{ product_id: 'p2', price: 30 }] }, context: grantedAll },

  // Ben: views and adds, pauses 35 minutes (a new session), and checks out two days later,
  // past a one-day conversion window.
  { customer: customer.ben, at: '2026-03-02T10:00:00Z', event: 'Product Viewed', anonymousId: 'ben-1', properties: { product_id: 'p1' } },
  { customer: customer.ben, at: '2026-03-02T10:05:00Z', event: 'Product Added', anonymousId: 'ben-1', properties: { product_id: 'p3', price: 12, quantity: 1 } },
  { customer: customer.ben, at: '2026-03-02T10:40:00Z', event: 'Product Viewed', anonymousId: 'ben-1', properties: { product_id: 'p2' } },
  { customer: customer.ben, at: '2026-03-04T10:00:00Z', event: 'Checkout Started', anonymousId: 'ben-1' },

  // Cat: adds to cart before viewing (out of order), then checks out: only the first step counts.
  { customer: customer.cat, at: '2026-03-02T11:00:00Z', event: 'Product Added', anonymousId: 'cat-1', properties: { product_id: 'p2', price: 30, quantity: 1 } },
  { customer: customer.cat, at: '2026-03-02T11:05:00Z', event: 'Product Viewed', anonymousId: 'cat-1', properties: { product_id: 'p2' } },
  { customer: customer.cat, at: '2026-03-02T11:10:00Z', event: 'Checkout Started', anonymousId: 'cat-1' },

  // Dan: only pages; the same campaign again keeps the session, a new campaign starts one.
  { customer: customer.dan, at: '2026-03-02T12:00:00Z', type: 'page', anonymousId: 'dan-1', url: 'https://shop.test/?utm_campaign=spring', utm: { source: 'newsletter', campaign: 'spring' } },
  { customer: customer.dan, at: '2026-03-02T12:10:00Z', type: 'page', anonymousId: 'dan-1', url: 'https://shop.test/products/p1' },
  { customer: customer.dan, at: '2026-03-02T12:15:00Z', type: 'page', anonymousId: 'dan-1', url: 'https://shop.test/?utm_campaign=spring', utm: { source: 'newsletter', campaign: 'spring' } },
  { customer: customer.dan, at: '2026-03-02T12:20:00Z', type: 'page', anonymousId: 'dan-1', url: 'https://shop.test/?utm_campaign=summer', utm: { source: 'newsletter', campaign: 'summer' } },

  // Eve: views on day 0 and stops; on day 2 she comes back from the newsletter and buys.
  { customer: customer.eve, at: '2026-03-02T09:55:00Z', type: 'page', anonymousId: 'eve-1', url: 'https://shop.test/?utm_source=newsletter', utm: { source: 'newsletter' } },
  { customer: customer.eve, at: '2026-03-02T10:00:00Z', event: 'Product Viewed', anonymousId: 'eve-1', properties: { product_id: 'p1' } },
  { customer: customer.eve, at: '2026-03-04T10:00:00Z', event: 'Product Viewed', anonymousId: 'eve-1', properties: { product_id: 'p1' } },
  { customer: customer.eve, at: '2026-03-04T10:30:00Z', event: 'Product Added', anonymousId: 'eve-1', properties: { product_id: 'p1', price: 25, quantity: 1 } },
  { customer: customer.eve, at: '2026-03-04T11:00:00Z', event: 'Checkout Started', anonymousId: 'eve-1' },
  { customer: customer.eve, at: '2026-03-04T11:30:00Z', event: 'Order Completed', anonymousId: 'eve-1', properties: { order_id: 'o-3', revenue: 25, products: [{ product_id: 'p1', price: 25, quantity: 1 }] } },

  // Fay (anonymous) views and adds on day 6; Gus (logged in) checks out and buys right after.
  // They are one person on two devices until identity stitching merges them.
  { customer: customer.fay, at: '2026-03-08T14:00:00Z', event: 'Product Viewed', anonymousId: 'fay-1', properties: { product_id: 'p3' } },
  { customer: customer.fay, at: '2026-03-08T14:05:00Z', event: 'Product Added', anonymousId: 'fay-1', properties: { product_id: 'p3', price: 12, quantity: 1 } },
  { customer: customer.gus, at: '2026-03-08T14:20:00Z', event: 'Checkout Started', anonymousId: 'gus-1', userId: 'u-gus' },
  { customer: customer.gus, at: '2026-03-08T14:25:00Z', event: 'Order Completed', anonymousId: 'gus-1', userId: 'u-gus', properties: { order_id: 'o-4', revenue: 12, products: [{ product_id: 'p3', price: 12, quantity: 1 }] } },
];

/** Inserts events rows as the collector would have written them, customer already resolved. */
async function insertJourneys(db: Kysely<Database>, events: JourneyEvent[]): Promise<void> {
  await db
    .insertInto('events')
    .values(
      events.map((e) => {
        const url = e.url ? new URL(e.url) : undefined;
        return {
          message_id: randomUUID(),
          source_id: 'test-source',
          type: e.type ?? 'track',
          event: e.event ?? null,
          anonymous_id: e.anonymousId ?? null,
          user_id: e.userId ?? null,
          customer_id: e.customer,
          timestamp: e.at,
          received_at: e.at,
          properties: JSON.stringify(e.properties ?? {}),
          traits: JSON.stringify(e.traits ?? {}),
          context: JSON.stringify(e.context ?? {}),
          url: url?.href ?? null,
          path: url?.pathname ?? null,
          utm_source: e.utm?.source ?? null,
          utm_medium: e.utm?.medium ?? null,
          utm_campaign: e.utm?.campaign ?? null,
        };
      }),
    )
    .execute();
}

const checkout = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'];
const minutes = (n: number) => n * 60;

interface FunnelRow {
  step: number;
  event: string;
  breakdown_value: string | null;
  customers: number;
  conversion_from_previous: number | null;
  conversion_from_first: number | null;
  median_seconds: number | null;
}

async function funnel(db: Kysely<Database>, steps: string[], since: string, until: string, within: string, breakdown?: string) {
  const { rows } = await sql<FunnelRow>`
    select step, event, breakdown_value, customers, conversion_from_previous, conversion_from_first,
           extract(epoch from median_time_from_previous)::float8 as median_seconds
      from funnel(${steps}::text[], ${since}::timestamptz, ${until}::timestamptz, ${within}::interval, ${breakdown ?? null}::text)`.execute(db);
  return rows;
}

describe(`marketers' SQL surface on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await insertJourneys(database.db, journeys);
  });
  afterAll(() => database.close());

  test('orders counts an order once even when it is reported twice, with revenue from revenue, total or products', async () => {
    const { rows } = await sql<{ order_id: string; customer_id: string; revenue: number }>`
      select order_id, customer_id, revenue from orders order by order_id`.execute(database.db);
    expect(rows).toEqual([
      { order_id: 'o-1', customer_id: customer.ann, revenue: 50 },
      { order_id: 'o-2', customer_id: customer.ann, revenue: 30 },
      { order_id: 'o-3', customer_id: customer.eve, revenue: 25 },
      { order_id: 'o-4', customer_id: customer.gus, revenue: 12 },
    ]);
    const items = await sql<{ order_id: string; product_id: string; price: number; quantity: number }>`
      select order_id, product_id, price, quantity from order_items order by order_id`.execute(database.db);
    expect(items.rows[0]).toEqual({ order_id: 'o-1', product_id: 'p1', price: 25, quantity: 2 });
    expect(items.rows).toHaveLength(4);
  });

  test('sessions split after 30 minutes of inactivity and on a new campaign, with landing page, UTM and order', async () => {
    const { rows } = await sql<{ customer_id: string; started_at: Date; ended_at: Date; landing_page: string | null; utm_source: string | null; utm_campaign: string | null; events: number; pageviews: number; completed_order: boolean }>`
      select customer_id, started_at, ended_at, landing_page, utm_source, utm_campaign, events, pageviews, completed_order
        from sessions order by customer_id, started_at`.execute(database.db);
    const of = (id: string) => rows.filter((r) => r.customer_id === id);
    expect(of(customer.ann)).toEqual([
      { customer_id: customer.ann, started_at: new Date('2026-03-02T10:00:00Z'), ended_at: new Date('2026-03-02T10:30:00Z'), landing_page: 'https://shop.test/?utm_source=google', utm_source: 'google', utm_campaign: 'spring', events: 6, pageviews: 1, completed_order: true },
      { customer_id: customer.ann, started_at: new Date('2026-03-03T09:00:00Z'), ended_at: new Date('2026-03-03T09:11:00Z'), landing_page: 'https://shop.test/products/p2', utm_source: null, utm_campaign: null, events: 4, pageviews: 1, completed_order: true },
    ]);
    // 35 minutes without an event: a new session.
    expect(of(customer.ben).map((s) => s.events)).toEqual([2, 1, 1]);
    // The same campaign again keeps the session; another campaign starts a new one.
    expect(of(customer.dan).map((s) => [s.utm_campaign, s.events, s.completed_order])).toEqual([
      ['spring', 3, false],
      ['summer', 1, false],
    ]);
    // Exactly 30 minutes between events is still the same session.
    expect(of(customer.eve).map((s) => s.events)).toEqual([2, 4]);
  });

  test('events carry their session id, ready for WHERE and GROUP BY', async () => {
    const { rows } = await sql<{ session_id: string; events: number; first_event: string | null }>`
      select session_id, count(*) as events, min(type) as first_event
        from events_with_session where customer_id = ${customer.ann} group by session_id order by min("timestamp")`.execute(database.db);
    expect(rows.map((r) => r.events)).toEqual([6, 4]);
    const sessionIds = await sql<{ session_id: string }>`select session_id from sessions where customer_id = ${customer.ann} order by started_at`.execute(database.db);
    expect(rows.map((r) => r.session_id)).toEqual(sessionIds.rows.map((r) => r.session_id));
  });

  test('customer_profiles sums a customer up: traits, activity, lifetime value, consent and devices', async () => {
    const { rows } = await sql<Record<string, unknown>>`
      select customer_id, user_id, email, name, first_seen, last_seen, sessions, events, orders, revenue, average_order_value, consent, devices
        from customer_profiles where customer_id in (${customer.ann}, ${customer.dan})
       order by customer_id`.execute(database.db);
    expect(rows).toEqual([
      {
        customer_id: customer.ann, user_id: 'u-ann', email: 'ann@shop.test', name: 'Ann Archer',
        first_seen: new Date('2026-03-02T10:00:00Z'), last_seen: new Date('2026-03-03T09:11:00Z'),
        sessions: 2, events: 10, orders: 2, revenue: { '(none)': 80 }, average_order_value: { '(none)': 40 },
        consent: { analytics: true, marketing: true }, devices: 2,
      },
      {
        customer_id: customer.dan, user_id: null, email: null, name: null,
        first_seen: new Date('2026-03-02T12:00:00Z'), last_seen: new Date('2026-03-02T12:20:00Z'),
        sessions: 2, events: 4, orders: 0, revenue: {}, average_order_value: {}, consent: null, devices: 1,
      },
    ]);
    const count = await sql<{ n: number }>`select count(*) as n from customer_profiles`.execute(database.db);
    expect(count.rows[0]?.n).toBe(7);
  });

  test('funnel counts customers through the steps in strict order within the window', async () => {
    expect(await funnel(database.db, checkout, '2026-03-02', '2026-03-05', '1 day')).toEqual([
      { step: 1, event: 'Product Viewed', breakdown_value: null, customers: 4, conversion_from_previous: 1, conversion_from_first: 1, median_seconds: null },
      { step: 2, event: 'Product Added', breakdown_value: null, customers: 3, conversion_from_previous: 0.75, conversion_from_first: 0.75, median_seconds: minutes(5) },
      { step: 3, event: 'Checkout Started', breakdown_value: null, customers: 2, conversion_from_previous: 0.6667, conversion_from_first: 0.5, median_seconds: minutes(22.5) },
      { step: 4, event: 'Order Completed', breakdown_value: null, customers: 2, conversion_from_previous: 1, conversion_from_first: 0.5, median_seconds: minutes(17.5) },
    ]);
  });

  test('a wider window lets a late checkout count; since and until bound the first step', async () => {
    const wide = await funnel(database.db, checkout, '2026-03-02', '2026-03-05', '3 days');
    expect(wide.map((r) => r.customers)).toEqual([4, 3, 3, 2]);
    const dayTwo = await funnel(database.db, checkout, '2026-03-04', '2026-03-05', '1 day');
    expect(dayTwo.map((r) => [r.customers, r.median_seconds])).toEqual([
      [1, null],
      [1, minutes(30)],
      [1, minutes(30)],
      [1, minutes(30)],
    ]);
  });

  test('a step may repeat an event: the second occurrence must follow the first', async () => {
    const rows = await funnel(database.db, ['Product Viewed', 'Product Viewed'], '2026-03-02', '2026-03-05', '1 day');
    expect(rows.map((r) => [r.customers, r.median_seconds])).toEqual([
      [4, null],
      [2, (minutes(23 * 60) + minutes(40)) / 2],
    ]);
  });

  test('funnel breaks down by the last campaign source seen before entering', async () => {
    const rows = await funnel(database.db, checkout, '2026-03-02', '2026-03-05', '1 day', 'utm_source');
    expect(rows.map((r) => [r.breakdown_value, r.step, r.customers])).toEqual([
      ['google', 1, 1], ['google', 2, 1], ['google', 3, 1], ['google', 4, 1],
      ['newsletter', 1, 1], ['newsletter', 2, 1], ['newsletter', 3, 1], ['newsletter', 4, 1],
      [null, 1, 2], [null, 2, 1], [null, 3, 0], [null, 4, 0],
    ]);
  });

  test('a funnel nobody entered answers zero for every step', async () => {
    const rows = await funnel(database.db, checkout, '2025-01-01', '2025-02-01', '1 day');
    expect(rows.map((r) => [r.step, r.customers, r.conversion_from_first])).toEqual([
      [1, 0, null], [2, 0, null], [3, 0, null], [4, 0, null],
    ]);
  });

  test('bad arguments get a clear error', async () => {
    await expect(funnel(database.db, [], '2026-03-02', '2026-03-05', '1 day')).rejects.toThrow(/between 1 and 20/);
    await expect(funnel(database.db, checkout, '2026-03-05', '2026-03-02', '1 day')).rejects.toThrow(/must be before until/);
    await expect(funnel(database.db, checkout, '2026-03-02', '2026-03-05', '0 seconds')).rejects.toThrow(/positive interval/);
    await expect(funnel(database.db, checkout, '2026-03-02', '2026-03-05', '1 day', 'password')).rejects.toThrow(/breakdown must name a column/);
  });

  test('when identity stitching re-points events, sessions, profiles and funnels follow at once', async () => {
    const before = await funnel(database.db, checkout, '2026-03-08', '2026-03-09', '1 day');
    expect(before.map((r) => r.customers)).toEqual([1, 1, 0, 0]);

    await sql`update events set customer_id = ${customer.gus} where customer_id = ${customer.fay}`.execute(database.db);

    const after = await funnel(database.db, checkout, '2026-03-08', '2026-03-09', '1 day');
    expect(after.map((r) => r.customers)).toEqual([1, 1, 1, 1]);
    const profile = await sql<{ events: number; orders: number; devices: number; sessions: number }>`
      select events, orders, devices, sessions from customer_profiles where customer_id = ${customer.gus}`.execute(database.db);
    expect(profile.rows).toEqual([{ events: 4, orders: 1, devices: 2, sessions: 1 }]);
    const fay = await sql<{ n: number }>`select count(*) as n from customer_profiles where customer_id = ${customer.fay}`.execute(database.db);
    expect(fay.rows[0]?.n).toBe(0);
  });
});
