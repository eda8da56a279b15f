import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dayAgo, daysAgo } from './support/analytics-events.js';
import { basic, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

// Ann, through the collector: identified with traits, arrives from Google on her Mac, comes
// back from the newsletter on her iPhone, buys in euros (partly refunded) and in yen, and
// answers an NPS survey.
describe(`customer_profiles on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    const app = testApp(database);
    const on = (userAgent: string, anonymousId: string, fields: Record<string, unknown>) =>
      trackEvent({ anonymousId, userId: 'ann-1', context: { userAgent }, ...fields });
    const res = await postJson(
      app,
      '/v1/batch',
      {
        batch: [
          on(mac, 'mac-1', { type: 'identify', event: undefined, traits: { email: 'ann@example.com', firstName: 'Ann', plan: 'pro' }, timestamp: daysAgo(20).toISOString() }),
          on(mac, 'mac-1', {
            type: 'page', event: undefined, timestamp: daysAgo(20, 1).toISOString(),
            context: { userAgent: mac, campaign: { source: 'google', medium: 'cpc', name: 'winter' } },
          }),
          on(mac, 'mac-1', { event: 'Order Completed', properties: { order_id: 'p-1', revenue: 100, currency: 'EUR' }, timestamp: daysAgo(20, 5).toISOString() }),
          on(iphone, 'phone-1', {
            type: 'page', event: undefined, timestamp: daysAgo(2).toISOString(),
            context: { userAgent: iphone, campaign: { source: 'newsletter', medium: 'email', name: 'spring' } },
          }),
          on(iphone, 'phone-1', { event: 'Order Completed', properties: { order_id: 'p-2', revenue: 10000, currency: 'JPY' }, timestamp: daysAgo(2, 5).toISOString() }),
          on(iphone, 'phone-1', { event: 'Order Refunded', properties: { order_id: 'p-1', revenue: 40, currency: 'EUR' }, timestamp: daysAgo(1).toISOString() }),
          on(iphone, 'phone-1', { event: 'Survey Responded', properties: { survey_id: 'nps', scale: 'nps', score: 9 }, timestamp: daysAgo(1, 5).toISOString() }),
        ],
      },
      { authorization: basic(shop.writeKey) },
    );
    const answer = await res.json();
    expect(answer, JSON.stringify(answer)).toMatchObject({ accepted: 7 });
    await sql`insert into exchange_rates (currency, valid_from, rate) values ('EUR', ${dayAgo(30)}, 1.1), ('JPY', ${dayAgo(30)}, 0.0065)`.execute(database.db);
    await sql`insert into segments (name, definition) values ('buys-in-yen', 'select customer_id from customer_revenue where currency = ''JPY''')`.execute(database.db);
  });
  afterAll(() => database.close());

  test('shows revenue per currency net of refunds, a converted total, every trait, devices, first and last source, segments and the latest score', async () => {
    const { rows } = await sql<Record<string, unknown>>`
      select email, name, orders::int, revenue, average_order_value, converted_revenue::float8 as converted_revenue, traits ->> 'plan' as plan,
             devices::int, device_list, first_source, last_source, rfm_groups, segments, nps_score::int as nps_score
        from customer_profiles where user_id = 'ann-1'`.execute(database.db);
    expect(rows).toEqual([{
      email: 'ann@example.com',
      name: 'Ann',
      orders: 2,
      // Never 10,060 of anything: 100 EUR less the 40 refunded, and 10,000 JPY.
      revenue: { EUR: 60, JPY: 10000 },
      average_order_value: { EUR: 60, JPY: 10000 },
      // 60 × 1.1 + 10,000 × 0.0065
      converted_revenue: 131,
      plan: 'pro',
      devices: 2,
      device_list: [
        { device_type: 'mobile', os: 'iOS', browser: 'Mobile Safari', last_seen: expect.any(String) },
        { device_type: 'desktop', os: 'Mac OS', browser: 'Chrome', last_seen: expect.any(String) },
      ],
      first_source: { source: 'google', medium: 'cpc', campaign: 'winter', at: expect.any(String) },
      last_source: { source: 'newsletter', medium: 'email', campaign: 'spring', at: expect.any(String) },
      // Alone in each currency, Ann scores 1 1 1 in both.
      rfm_groups: ['hibernating'],
      segments: ['buys-in-yen'],
      nps_score: 9,
    }]);
  });

  test('a saved segment whose definition fails on the data is left out of the profile, which still lists the others; asked for directly, it fails with the reason', async () => {
    // Stored: the check runs the definition without reading a row. Ann's plan is 'pro', which
    // does not cast to a number, so the definition fails as soon as it reads her identify.
    await sql`insert into segments (name, definition) values ('numbered-plans', 'select customer_id from events where (traits ->> ''plan'')::int > 0')`.execute(database.db);
    try {
      const { rows } = await sql<{ segments: string[] }>`select segments from customer_profiles where user_id = 'ann-1'`.execute(database.db);
      expect(rows).toEqual([{ segments: ['buys-in-yen'] }]);
      const { rows: memberships } = await sql<{ segment: string }>`select distinct segment from segment_memberships order by 1`.execute(database.db);
      expect(memberships).toEqual([{ segment: 'buys-in-yen' }]);
      await expect(sql`select * from segment_members('numbered-plans')`.execute(database.db)).rejects.toThrow(/invalid input syntax for type integer: "pro"/);
    } finally {
      await sql`delete from segments where name = 'numbered-plans'`.execute(database.db);
    }
  });
});
