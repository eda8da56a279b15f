import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dayAgo, daysAgo, insertEvents, rowsOf } from './support/analytics-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

// Ann buys in euros (one order cancelled, one partly refunded) and once in yen; Bob buys
// twice in dollars, sent as "usd", and gets both back: one refund names no amount (the whole
// order), the other names more than the order (capped at the order).
const ann = randomUUID();
const bob = randomUUID();
const completed = (id: string, revenue: number | undefined, currency: string, extra: Record<string, unknown> = {}) => ({
  event: 'Order Completed',
  properties: { order_id: id, ...(revenue === undefined ? {} : { revenue }), currency, ...extra },
});

const query = (database: TestDatabase, text: string) => rowsOf(database.db, text);

describe(`revenue per currency on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await insertEvents(database.db, [
      { customer: ann, at: daysAgo(400), ...completed('o-1', 100, 'EUR') },
      // The shop reports o-1 a second time: counted once.
      { customer: ann, at: daysAgo(400, 1), ...completed('o-1', 100, 'EUR') },
      { customer: ann, at: daysAgo(10), ...completed('o-2', 50, 'EUR') },
      { customer: ann, at: daysAgo(9), event: 'Order Refunded', properties: { order_id: 'o-2', revenue: 20, currency: 'EUR' } },
      { customer: ann, at: daysAgo(3), ...completed('o-3', 30, 'EUR') },
      { customer: ann, at: daysAgo(3, 30), event: 'Order Cancelled', properties: { order_id: 'o-3' } },
      { customer: ann, at: daysAgo(5), ...completed('o-4', 10000, 'JPY') },
      { customer: bob, at: daysAgo(2), ...completed('o-5', undefined, 'usd', { products: [{ product_id: 'p', price: 10, quantity: 2 }] }) },
      { customer: bob, at: daysAgo(1), event: 'Order Refunded', properties: { order_id: 'o-5' } },
      { customer: bob, at: daysAgo(2, 5), ...completed('o-6', 40, 'USD') },
      { customer: bob, at: daysAgo(1, 5), event: 'Order Refunded', properties: { order_id: 'o-6', revenue: 100 } },
    ]);
    await sql`
      insert into exchange_rates (currency, valid_from, rate) values
        ('EUR', '2000-01-01', 1.1), ('EUR', ${dayAgo(12)}, 1.2), ('USD', '2000-01-01', 1)`.execute(database.db);
  });
  afterAll(() => database.close());

  test('order_revenue holds each order once with what was refunded or cancelled, never more than the order', async () => {
    const rows = await query(database, `
      select order_id, currency, gross_revenue::float8 as gross, refunded::float8 as refunded, net_revenue::float8 as net, cancelled,
             converted_net_revenue::float8 as converted
        from order_revenue order by order_id`);
    expect(rows).toEqual([
      { order_id: 'o-1', currency: 'EUR', gross: 100, refunded: 0, net: 100, cancelled: false, converted: 110 },
      { order_id: 'o-2', currency: 'EUR', gross: 50, refunded: 20, net: 30, cancelled: false, converted: 36 },
      { order_id: 'o-3', currency: 'EUR', gross: 30, refunded: 30, net: 0, cancelled: true, converted: 0 },
      { order_id: 'o-4', currency: 'JPY', gross: 10000, refunded: 0, net: 10000, cancelled: false, converted: null },
      { order_id: 'o-5', currency: 'USD', gross: 20, refunded: 20, net: 0, cancelled: false, converted: 0 },
      { order_id: 'o-6', currency: 'USD', gross: 40, refunded: 40, net: 0, cancelled: false, converted: 0 },
    ]);
  });

  test('customer_revenue keeps each currency apart: 100 EUR and 10,000 JPY are never 10,100 of anything', async () => {
    const rows = await query(database, `
      select customer_id::text as customer, currency, orders::int, cancelled_orders::int as cancelled, gross_revenue::float8 as gross,
             refunded::float8 as refunded, net_revenue::float8 as net, average_order_value::float8 as aov
        from customer_revenue order by customer_id = '${ann}' desc, currency`);
    expect(rows).toEqual([
      { customer: ann, currency: 'EUR', orders: 2, cancelled: 1, gross: 180, refunded: 50, net: 130, aov: 65 },
      { customer: ann, currency: 'JPY', orders: 1, cancelled: 0, gross: 10000, refunded: 0, net: 10000, aov: 10000 },
      { customer: bob, currency: 'USD', orders: 2, cancelled: 0, gross: 60, refunded: 60, net: 0, aov: 0 },
    ]);
  });

  test('revenue_by_day counts a day per currency, converting where a rate exists and saying where none does', async () => {
    const rows = await query(database, `
      select to_char(day, 'YYYY-MM-DD') as day, currency, orders::int, net_revenue::float8 as net, converted_net_revenue::float8 as converted,
             unconverted_orders::int as unconverted
        from revenue_by_day where day in ('${dayAgo(10)}', '${dayAgo(5)}', '${dayAgo(3)}') order by day`);
    expect(rows).toEqual([
      { day: dayAgo(10), currency: 'EUR', orders: 1, net: 30, converted: 36, unconverted: 0 },
      { day: dayAgo(5), currency: 'JPY', orders: 1, net: 10000, converted: null, unconverted: 1 },
      { day: dayAgo(3), currency: 'EUR', orders: 0, net: 0, converted: 0, unconverted: 0 },
    ]);
  });

  test('customer_lifetime_value shows the historical value and each part of the predicted one', async () => {
    const rows = await query(database, `
      select customer_id::text as customer, currency, orders::int, historical_clv::float8 as historical, average_order_value::float8 as aov,
             customer_years::float8 as years, purchase_rate_per_year::float8 as rate, expected_lifetime_years::float8 as lifetime,
             predicted_clv::float8 as predicted, converted_historical_clv::float8 as converted_historical,
             converted_predicted_clv::float8 as converted_predicted
        from customer_lifetime_value() order by customer_id = '${ann}' desc, currency`);
    // Ann's euros: first order 400 days ago = 1.0951 years; 2 orders / 1.0951 = 1.8263 a
    // year; 65 × 1.8263 × 3 = 356.13, at today's 1.2 = 427.36. Her one yen order, 5 days
    // ago, counts as one a year.
    expect(rows).toEqual([
      { customer: ann, currency: 'EUR', orders: 2, historical: 130, aov: 65, years: 1.0951, rate: 1.8263, lifetime: 3, predicted: 356.13,
        converted_historical: 146, converted_predicted: 427.36 },
      { customer: ann, currency: 'JPY', orders: 1, historical: 10000, aov: 10000, years: 0.0137, rate: 1, lifetime: 3, predicted: 30000,
        converted_historical: null, converted_predicted: null },
      { customer: bob, currency: 'USD', orders: 2, historical: 0, aov: 0, years: 0.0055, rate: 2, lifetime: 3, predicted: 0,
        converted_historical: 0, converted_predicted: 0 },
    ]);
    const twoYears = await query(database, `select predicted_clv::float8 as predicted from customer_lifetime_value('2 years') where currency = 'JPY'`);
    expect(twoYears).toEqual([{ predicted: 20000 }]);
  });

  test('a bad expected lifetime or exchange rate is refused with a clear error', async () => {
    await expect(query(database, `select * from customer_lifetime_value('-1 year')`)).rejects.toThrow(/expected_lifetime must be a positive interval/);
    await expect(query(database, `insert into exchange_rates values ('eur', '2026-01-01', 1)`)).rejects.toThrow(/check constraint/);
    await expect(query(database, `insert into exchange_rates values ('GBP', '2026-01-01', 0)`)).rejects.toThrow(/check constraint/);
  });
});
