import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { daysAgo, insertEvents, type AnalyticsEvent, rowsOf } from './support/analytics-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const [a, b, c, d, e, f, g, h] = Array.from({ length: 8 }, () => randomUUID()) as [string, string, string, string, string, string, string, string];
const name = new Map([[a, 'a'], [b, 'b'], [c, 'c'], [d, 'd'], [e, 'e'], [f, 'f'], [g, 'g'], [h, 'h']]);

const order = (customer: string, days: number, revenue: number, currency = 'EUR'): AnalyticsEvent => ({
  customer, at: daysAgo(days), event: 'Order Completed', properties: { order_id: randomUUID(), revenue, currency },
});

// In euros, six customers whose ranks are worked out by hand (n = 6: percent ranks 0, 0.2,
// 0.4, 0.6, 0.8, 1 give scores 1, 2, 3, 4, 5, 5):
//   recency days  E 400, D 200, C 30, B 5, F 2, A 1   → E1 D2 C3 B4 F5 A5
//   orders        C 1, E 1, F 1 (rank 1), B 2, D 2 (rank 4), A 3 → 1 1 1 4 4 5
//   net revenue   E 10, F 20, B 40, C 50, D 150, A 300 → 1 2 3 4 5 5
// G alone in dollars is scored within dollars only. H only added to the cart.
const events: AnalyticsEvent[] = [
  order(a, 60, 100), order(a, 50, 100), order(a, 1, 100),
  { customer: a, at: daysAgo(1, 10), event: 'Product Added', properties: { product_id: 'p1' } },
  order(b, 20, 20), order(b, 5, 20),
  order(c, 30, 50),
  { customer: c, at: daysAgo(10), event: 'Product Added', properties: { product_id: 'p2' } },
  order(d, 300, 75), order(d, 200, 75),
  order(e, 400, 10),
  { customer: f, at: daysAgo(3), event: 'Product Added', properties: { product_id: 'p3' } },
  order(f, 2, 20),
  order(g, 3, 500, 'USD'),
  { customer: h, at: daysAgo(1), event: 'Product Added', properties: { product_id: 'p4' } },
];

const query = (database: TestDatabase, text: string) => rowsOf(database.db, text);
const names = (rows: Record<string, unknown>[]) => rows.map((r) => name.get(String(r.customer_id))).sort();

describe(`segments on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await insertEvents(database.db, events);
  });
  afterAll(() => database.close());

  test('customer_rfm scores recency, frequency and money 1–5 within a currency and names the groups', async () => {
    const rows = await query(database, `
      select customer_id, currency, recency_days, recency_score as r, frequency_score as f, monetary_score as m, rfm_cell, rfm_group
        from customer_rfm`);
    const byName = Object.fromEntries(rows.map((r) => [name.get(String(r.customer_id)), [r.currency, r.recency_days, r.r, r.f, r.m, r.rfm_cell, r.rfm_group]]));
    expect(byName).toEqual({
      a: ['EUR', 1, 5, 5, 5, '555', 'champions'],
      b: ['EUR', 5, 4, 4, 3, '443', 'loyal'],
      c: ['EUR', 30, 3, 1, 4, '314', 'needs attention'],
      d: ['EUR', 200, 2, 4, 5, '245', 'at risk'],
      e: ['EUR', 400, 1, 1, 1, '111', 'hibernating'],
      f: ['EUR', 2, 5, 1, 2, '512', 'new'],
      g: ['USD', 3, 1, 1, 1, '111', 'hibernating'],
    });
  });

  test('cart_abandoners are those who added to the cart within the window and have not ordered since', async () => {
    expect(names(await query(database, `select * from cart_abandoners('7 days')`))).toEqual(['a', 'h']);
    expect(names(await query(database, `select * from cart_abandoners('14 days')`))).toEqual(['a', 'c', 'h']);
    await expect(query(database, `select * from cart_abandoners('0 days')`)).rejects.toThrow(/within must be a positive interval/);
  });

  test('repeat_buyers ordered at least twice; lapsed_customers ordered, but not within the period', async () => {
    expect(names(await query(database, 'select * from repeat_buyers'))).toEqual(['a', 'b', 'd']);
    expect(names(await query(database, `select * from lapsed_customers('90 days')`))).toEqual(['d', 'e']);
    expect(names(await query(database, `select * from lapsed_customers('250 days')`))).toEqual(['e']);
  });

  test('a saved segment lists its members now and counts them as they stood at each point in time', async () => {
    await query(database, `
      insert into segments (name, description, definition) values
        ('big-spenders', 'Net revenue of 100 or more in a currency', 'select customer_id from customer_revenue where net_revenue >= 100'),
        ('buyers', 'Ordered before the time the segment is evaluated at', 'select customer_id from orders where completed_at < $1')`);
    expect(names(await query(database, `select * from segment_members('big-spenders')`))).toEqual(['a', 'd', 'g']);
    expect(names(await query(database, `select * from segment_members('buyers', now() - interval '100 days')`))).toEqual(['d', 'e']);
    // Points 450, 350, 250, 150 and 50 days ago, each at noon UTC; orders are at noon too,
    // so an order exactly on a point is not yet before it.
    const counts = await query(database, `
      select (extract(epoch from "at") * 1000)::float8 as at_ms, customers::int
        from segment_counts('buyers', '${daysAgo(450).toISOString()}', '${daysAgo(0).toISOString()}', '2400 hours')`);
    expect(counts).toEqual([[450, 0], [350, 1], [250, 2], [150, 2], [50, 3]].map(([days, customers]) => ({ at_ms: daysAgo(days!).getTime(), customers })));
    const memberships = await query(database, `select segment, customer_id from segment_memberships`);
    expect(memberships.map((m) => `${m.segment}:${name.get(String(m.customer_id))}`).sort()).toEqual([
      'big-spenders:a', 'big-spenders:d', 'big-spenders:g',
      'buyers:a', 'buyers:b', 'buyers:c', 'buyers:d', 'buyers:e', 'buyers:f', 'buyers:g',
    ]);
  });

  test('a definition that does not run, has no customer_id or smuggles a second statement is refused and nothing runs', async () => {
    await expect(query(database, `insert into segments (name, definition) values ('nothing', 'select 1 as x')`))
      .rejects.toThrow(/definition of nothing does not run as a query with a customer_id column/);
    await expect(query(database, `insert into segments (name, definition) values ('typo', 'selec customer_id from orders')`))
      .rejects.toThrow(/definition of typo does not run/);
    await expect(query(database, `insert into segments (name, definition) values ('sneaky', 'select customer_id from orders) d; delete from events; select (null')`))
      .rejects.toThrow(/definition of sneaky is one query, without ";"/);
    await expect(query(database, `insert into segments (name, definition) values ('Bad Name', 'select customer_id from orders')`))
      .rejects.toThrow(/check constraint/);
    expect(await query(database, `select count(*)::int as n from events`)).toEqual([{ n: events.length }]);
    expect(await query(database, `select name from segments order by name`)).toEqual([{ name: 'big-spenders' }, { name: 'buyers' }]);
    await expect(query(database, `select * from segment_members('nobody')`)).rejects.toThrow(/no saved segment is named nobody/);
    await expect(query(database, `select * from segment_counts('buyers', now(), now() + interval '2000 days')`)).rejects.toThrow(/at most 1000 points/);
  });
});
