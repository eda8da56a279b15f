import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '@tally/collector';
import { createTestDatabase, testEngine } from '../test/support/database.js';

const folder = new URL('./', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, folder), 'utf8');

// Five customers, three days ago and yesterday (at noon UTC, so the day is the same in any
// time zone within twelve hours of it).
const noon = (daysAgo: number, minutes = 0) => {
  const day = new Date();
  day.setUTCHours(12, minutes, 0, 0);
  day.setUTCDate(day.getUTCDate() - daysAgo);
  return day;
};

interface Step {
  at: Date;
  type?: string;
  event?: string;
  properties?: Record<string, unknown>;
  utmSource?: string;
  path?: string;
}

const order = (id: string, product: string, price: number) => ({
  order_id: id,
  revenue: price,
  products: [{ product_id: product, price, quantity: 1 }],
});

const customers: Record<string, Step[]> = {
  // Came from Google, bought p1; bought p2 again yesterday.
  buyerTwice: [
    { at: noon(3, 0), type: 'page', utmSource: 'google', path: '/' },
    { at: noon(3, 1), event: 'Product Viewed', properties: { product_id: 'p1' } },
    { at: noon(3, 2), event: 'Product Added', properties: { product_id: 'p1', price: 20 } },
    { at: noon(3, 3), event: 'Checkout Started' },
    { at: noon(3, 4), event: 'Order Completed', properties: order('o-1', 'p1', 20) },
    { at: noon(1, 0), type: 'page', path: '/products/p2' },
    { at: noon(1, 1), event: 'Order Completed', properties: order('o-2', 'p2', 35) },
  ],
  // Came from the newsletter, added p2 and left.
  newsletterCart: [
    { at: noon(3, 10), type: 'page', utmSource: 'newsletter', path: '/' },
    { at: noon(3, 11), event: 'Product Viewed', properties: { product_id: 'p2' } },
    { at: noon(3, 12), event: 'Product Added', properties: { product_id: 'p2', price: 35 } },
  ],
  // Added p3, started the checkout and left.
  checkoutLeft: [
    { at: noon(3, 20), type: 'page', path: '/products/p3' },
    { at: noon(3, 21), event: 'Product Viewed', properties: { product_id: 'p3' } },
    { at: noon(3, 22), event: 'Product Added', properties: { product_id: 'p3', price: 9 } },
    { at: noon(3, 23), event: 'Checkout Started' },
  ],
  // Only looked.
  browser: [{ at: noon(3, 30), event: 'Product Viewed', properties: { product_id: 'p1' } }],
  // Bought p1 once.
  buyerOnce: [
    { at: noon(3, 40), type: 'page', path: '/products/p1' },
    { at: noon(3, 41), event: 'Product Viewed', properties: { product_id: 'p1' } },
    { at: noon(3, 42), event: 'Product Added', properties: { product_id: 'p1', price: 20 } },
    { at: noon(3, 43), event: 'Checkout Started' },
    { at: noon(3, 44), event: 'Order Completed', properties: order('o-3', 'p1', 20) },
  ],
};

async function run(database: Database, file: string) {
  const { rows } = await sql.raw<Record<string, unknown>>(read(file)).execute(database.db);
  return rows;
}

describe(`examples/sql on ${testEngine}`, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    database = await createTestDatabase();
    const rows = Object.entries(customers).flatMap(([, steps]) => {
      const customerId = randomUUID();
      return steps.map((s) => ({
        message_id: randomUUID(),
        source_id: 'examples',
        type: s.type ?? 'track',
        event: s.event ?? null,
        anonymous_id: `anon-${customerId}`,
        customer_id: customerId,
        timestamp: s.at,
        received_at: s.at,
        properties: JSON.stringify(s.properties ?? {}),
        traits: '{}',
        context: '{}',
        path: s.path ?? null,
        url: s.path ? `https://shop.example${s.path}` : null,
        utm_source: s.utmSource ?? null,
      }));
    });
    await database.db.insertInto('events').values(rows).execute();
  });
  afterAll(() => database.close());

  test('every example is tested', () => {
    const files = readdirSync(folder).filter((f) => f.endsWith('.sql')).sort();
    expect(files).toEqual([
      'cart-abandonment.sql',
      'checkout-funnel.sql',
      'daily-active-customers.sql',
      'funnel-by-utm-source.sql',
      'products-added-never-bought.sql',
      'repeat-purchase-rate.sql',
      'sessions-by-landing-page.sql',
    ]);
  });

  test('checkout-funnel.sql', async () => {
    const rows = await run(database, 'checkout-funnel.sql');
    expect(rows.map((r) => [r.step, r.event, r.customers, r.conversion_from_previous, r.conversion_from_first])).toEqual([
      [1, 'Product Viewed', 5, 1, 1],
      [2, 'Product Added', 4, 0.8, 0.8],
      [3, 'Checkout Started', 3, 0.75, 0.6],
      [4, 'Order Completed', 2, 0.6667, 0.4],
    ]);
  });

  test('funnel-by-utm-source.sql', async () => {
    const rows = await run(database, 'funnel-by-utm-source.sql');
    expect(rows.map((r) => [r.utm_source, r.step, r.customers])).toEqual([
      ['google', 1, 1], ['google', 2, 1], ['google', 3, 1], ['google', 4, 1],
      ['newsletter', 1, 1], ['newsletter', 2, 1], ['newsletter', 3, 0], ['newsletter', 4, 0],
      ['(none)', 1, 3], ['(none)', 2, 2], ['(none)', 3, 2], ['(none)', 4, 1],
    ]);
  });

  test('cart-abandonment.sql', async () => {
    expect(await run(database, 'cart-abandonment.sql')).toEqual([{ customers_with_cart: 4, abandoned: 2, abandonment_rate: 0.5 }]);
  });

  test('products-added-never-bought.sql', async () => {
    expect(await run(database, 'products-added-never-bought.sql')).toEqual([{ product_id: 'p3', times_added: 1, customers: 1 }]);
  });

  test('repeat-purchase-rate.sql', async () => {
    expect(await run(database, 'repeat-purchase-rate.sql')).toEqual([
      { customers_with_orders: 2, repeat_customers: 1, repeat_purchase_rate: 0.5, average_lifetime_value: 37.5 },
    ]);
  });

  test('daily-active-customers.sql', async () => {
    const rows = await run(database, 'daily-active-customers.sql');
    expect(rows).toHaveLength(30);
    const active = rows.filter((r) => Number(r.active_customers) > 0).map((r) => r.active_customers);
    expect(active).toEqual([5, 1]);
  });

  test('sessions-by-landing-page.sql', async () => {
    const rows = await run(database, 'sessions-by-landing-page.sql');
    expect(rows).toEqual([
      { landing_path: '/', sessions: 2, sessions_with_order: 1, average_events: 4 },
      { landing_path: '/products/p1', sessions: 1, sessions_with_order: 1, average_events: 5 },
      { landing_path: '/products/p2', sessions: 1, sessions_with_order: 1, average_events: 2 },
      { landing_path: '/products/p3', sessions: 1, sessions_with_order: 0, average_events: 4 },
      { landing_path: null, sessions: 1, sessions_with_order: 0, average_events: 1 },
    ]);
  });
});
