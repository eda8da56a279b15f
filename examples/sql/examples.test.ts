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

const order = (id: string, product: string, price: number, currency = 'EUR') => ({
  order_id: id,
  revenue: price,
  currency,
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
  // Bought p1 once, in dollars.
  buyerOnce: [
    { at: noon(3, 40), type: 'page', path: '/products/p1' },
    { at: noon(3, 41), event: 'Product Viewed', properties: { product_id: 'p1' } },
    { at: noon(3, 42), event: 'Product Added', properties: { product_id: 'p1', price: 20 } },
    { at: noon(3, 43), event: 'Checkout Started' },
    { at: noon(3, 44), event: 'Order Completed', properties: order('o-3', 'p1', 20, 'USD') },
  ],
};

async function insertEvents(database: Database, journeys: Record<string, Step[]>) {
  const rows = Object.entries(journeys).flatMap(([, steps]) => {
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
}

async function run(database: Database, file: string) {
  const { rows } = await sql.raw<Record<string, unknown>>(read(file)).execute(database.db);
  return rows;
}

describe(`examples/sql on ${testEngine}`, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    database = await createTestDatabase();
    await insertEvents(database, customers);
    await sql`insert into segments (name, definition) values ('came-from-google', 'select customer_id from events where utm_source = ''google''')`.execute(database.db);
  });
  afterAll(() => database.close());

  test('every example is tested', () => {
    const files = readdirSync(folder).filter((f) => f.endsWith('.sql')).sort();
    expect(files).toEqual([
      'cart-abandonment.sql',
      'checkout-funnel.sql',
      'customer-360.sql',
      'daily-active-customers.sql',
      'experiment-results.sql',
      'funnel-by-utm-source.sql',
      'nps-by-month.sql',
      'products-added-never-bought.sql',
      'repeat-purchase-rate.sql',
      'revenue-by-currency.sql',
      'rfm-groups.sql',
      'sessions-by-landing-page.sql',
      'sessions-per-day-by-source.sql',
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
    expect(await run(database, 'repeat-purchase-rate.sql')).toEqual([{ customers_with_orders: 2, repeat_customers: 1, repeat_purchase_rate: 0.5 }]);
  });

  test('revenue-by-currency.sql', async () => {
    expect(await run(database, 'revenue-by-currency.sql')).toEqual([
      { currency: 'EUR', customers: 1, orders: 2, net_revenue: 55, average_order_value: 27.5, average_lifetime_value: 55 },
      { currency: 'USD', customers: 1, orders: 1, net_revenue: 20, average_order_value: 20, average_lifetime_value: 20 },
    ]);
  });

  test('rfm-groups.sql', async () => {
    // Alone in their currency, each buyer ranks lowest on every score.
    expect(await run(database, 'rfm-groups.sql')).toEqual([
      { currency: 'EUR', rfm_group: 'hibernating', customers: 1, net_revenue: 55 },
      { currency: 'USD', rfm_group: 'hibernating', customers: 1, net_revenue: 20 },
    ]);
  });

  test('customer-360.sql', async () => {
    expect(await run(database, 'customer-360.sql')).toEqual([
      { revenue: { EUR: 55 }, first_source: 'google', device_kinds: 0, rfm_groups: ['hibernating'], segments: ['came-from-google'] },
    ]);
  });

  test('daily-active-customers.sql', async () => {
    const rows = await run(database, 'daily-active-customers.sql');
    expect(rows).toHaveLength(30);
    const active = rows.filter((r) => Number(r.active_customers) > 0).map((r) => r.active_customers);
    expect(active).toEqual([5, 1]);
  });

  test('sessions-per-day-by-source.sql', async () => {
    // The collector's schedule refreshes the roll-ups; here the last 30 days, by hand.
    await sql`select tally_refresh_daily_rollups(current_date - 29, current_date)`.execute(database.db);
    const rows = await run(database, 'sessions-per-day-by-source.sql');
    const day = (daysAgo: number) => noon(daysAgo).toISOString().slice(0, 10);
    // By hand: three days ago five visits (one from google that ordered, one from the
    // newsletter, three without a campaign, one of which ordered); yesterday one, with an order.
    expect(rows).toEqual([
      { day: day(3), source: '(none)', sessions: 3, sessions_with_order: 1 },
      { day: day(3), source: 'google', sessions: 1, sessions_with_order: 1 },
      { day: day(3), source: 'newsletter', sessions: 1, sessions_with_order: 0 },
      { day: day(1), source: '(none)', sessions: 1, sessions_with_order: 1 },
    ]);
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

// A checkout-button test (control: 1 of 4 orders after seeing it; green: 3 of 4) and this
// month's survey answers: NPS 10, 9 and 4; CSAT 4 and 5.
describe(`examples/sql on experiments and surveys on ${testEngine}`, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const viewed = (variant: string): Step => ({
    at: noon(2, 0), event: 'Experiment Viewed',
    properties: { experiment_id: 'checkout-button', variant_id: variant, variant_name: variant === 'control' ? 'Control' : 'Green button' },
  });
  const bought = (id: string): Step => ({ at: noon(2, 5), event: 'Order Completed', properties: order(id, 'p1', 20) });
  const answer = (scale: string, score: number): Step => ({ at: noon(1), event: 'Survey Responded', properties: { survey_id: scale, scale, score } });
  beforeAll(async () => {
    database = await createTestDatabase();
    await insertEvents(database, {
      c1: [viewed('control'), bought('c-1'), answer('nps', 10), answer('csat', 4)],
      c2: [viewed('control'), answer('nps', 9), answer('csat', 5)],
      c3: [viewed('control'), answer('nps', 4)],
      c4: [viewed('control')],
      g1: [viewed('green'), bought('g-1')],
      g2: [viewed('green'), bought('g-2')],
      g3: [viewed('green'), bought('g-3')],
      g4: [viewed('green')],
    });
  });
  afterAll(() => database.close());

  test('experiment-results.sql', async () => {
    // 0.25 against 0.75: uplift 2; standard error √(0.75·0.25/4 · 2) = 0.3062, so 0.5 ± 0.6001;
    // pooled 0.5 gives z = √2 and p = erfc(1) = 0.157299.
    expect(await run(database, 'experiment-results.sql')).toEqual([
      { variant: 'Control', customers: 4, converted: 1, conversion_rate: 0.25, uplift: null, ci_low: null, ci_high: null, p_value: null },
      { variant: 'Green button', customers: 4, converted: 3, conversion_rate: 0.75, uplift: 2, ci_low: -0.1001, ci_high: 1.1001, p_value: 0.157299 },
    ]);
  });

  test('nps-by-month.sql', async () => {
    const month = noon(1).toISOString().slice(0, 7);
    expect(await run(database, 'nps-by-month.sql')).toEqual([
      { measure: 'csat', month, responses: 2, score: 4.5 },
      { measure: 'nps', month, responses: 3, score: 33.3 },
    ]);
  });
});
