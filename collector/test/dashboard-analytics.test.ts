/**
 * The dashboard's segments and experiments panels, and the segments in a customer's 360°
 * view, against seeded data with answers known by hand, through the whole app as the
 * read-only dashboard role.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testApp } from './support/collector-app.js';
import { EXPERIMENT, EXPERIMENT_RANGE, logIn, seedAnalytics, seedShop, testDashboard, type ShopPeople, type TestDashboard } from './support/dashboard-data.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

type App = ReturnType<typeof testApp>;

describe(`the dashboard's segments and experiments on ${testEngine}`, () => {
  let database: TestDatabase;
  let dashboard: TestDashboard;
  let app: App;
  let people: ShopPeople;
  let eve: string;
  let cookie: string;
  const experimentRange = `since=${EXPERIMENT_RANGE.since}&until=${EXPERIMENT_RANGE.until}`;
  const get = async (path: string) => {
    const res = await app.request(`/dashboard/api/${path}`, { headers: { cookie } });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    people = await seedShop(database);
    ({ eve } = await seedAnalytics(database, people));
    dashboard = await testDashboard(database);
    app = testApp(database, { dashboard });
    ({ cookie } = await logIn(app));
  }, 60_000);
  afterAll(async () => {
    await dashboard?.close();
    await database?.close();
  });

  test('segments: customers per RFM group within each currency, and the saved segments with their size now', async () => {
    const { status, body } = await get('segments');
    expect(status).toBe(200);
    expect(body.rfm.rows).toEqual([
      { currency: 'EUR', rfm_group: 'champions', customers: 1, net_revenue: 300 },
      { currency: 'EUR', rfm_group: 'hibernating', customers: 1, net_revenue: 30 },
      { currency: 'USD', rfm_group: 'hibernating', customers: 1, net_revenue: 12.5 },
    ]);
    expect(body.saved.rows.map((row: any) => [row.name, row.description, row.members, row.error])).toEqual([
      ['big-spenders', 'Net revenue of 100 or more in a currency', 1, null],
      ['eur-buyers', 'Ordered in EUR', 2, null],
    ]);
    expect(body.rfm.sql).toContain('from customer_rfm');
    expect(body.saved.sql).toContain("from segments s");
    expect(body.saved.sql).toContain("segment_members('big-spenders')");
    expect(body.saved.sql).toContain("segment_members('eur-buyers')");
  });

  test('segments: a saved segment whose definition stops running fails on its own row with the database\'s message; the others are still counted, and a 360° view still lists them', async () => {
    const before = await get(`customer?userId=${people.ann.userId}`);
    // It ran when saved (no customer then had a non-numeric "age"); now one has.
    await sql`insert into segments (name, description, definition) values
      ('adults', 'Aged 18 or more', ${"select id as customer_id from customers where (traits ->> 'age')::int >= 18"})`.execute(database.db);
    await sql`update customers set traits = traits || '{"age": "unknown"}' where id = (select id from customers order by id limit 1)`.execute(database.db);
    try {
      const { status, body } = await get('segments');
      expect(status).toBe(200);
      expect(body.saved.rows.map((row: any) => [row.name, row.members])).toEqual([
        ['adults', null],
        ['big-spenders', 1],
        ['eur-buyers', 2],
      ]);
      expect(body.saved.rows[0].error).toMatch(/invalid input syntax for type integer: "unknown"/);
      expect(body.saved.sql).toContain("segment_members('adults')");
      expect(body.rfm.rows).toHaveLength(3);
      // A customer's 360° view lists the segments that still run, as before the breakage: the
      // broken one is left out of customer_profiles (the list above names it, with its error).
      const ann = await get(`customer?userId=${people.ann.userId}`);
      expect(ann.status).toBe(200);
      expect(ann.body.profile.rows).toHaveLength(1);
      expect(ann.body.segments.error).toBeUndefined();
      expect(ann.body.segments.rows.map((row: any) => row.segments)).toEqual([expect.arrayContaining(['eur-buyers'])]);
      expect(ann.body.segments.rows).toEqual(before.body.segments.rows);
      expect(ann.body.segments.sql).toContain('from customer_profiles');
    } finally {
      await sql`delete from segments where name = 'adults'`.execute(database.db);
      await sql`update customers set traits = traits - 'age' where traits ? 'age'`.execute(database.db);
    }
  });

  test("segments: a saved segment's members, each with the userId that opens their 360° view", async () => {
    const { status, body } = await get('segments/eur-buyers');
    expect(status).toBe(200);
    expect(body.members.rows.map((row: any) => [row.user_id, row.email])).toEqual([
      [eve, null],
      [people.ann.userId, people.ann.email],
    ]);
    expect(body.members.sql).toContain("segment_members('eur-buyers')");
    const ann = await get(`customer?userId=${body.members.rows[1].user_id}`);
    expect(ann.body.customerIds).toEqual([body.members.rows[1].customer_id]);
  });

  test('segments: an unknown segment is a 404 that names it', async () => {
    expect(await get('segments/nobody')).toMatchObject({ status: 404, body: { error: { message: /no saved segment is named "nobody"/ } } });
  });

  test("customer 360°: the customer's RFM groups and saved segments", async () => {
    const ann = await get(`customer?userId=${people.ann.userId}`);
    expect(ann.body.segments.rows).toMatchObject([{ rfm_groups: ['hibernating'], segments: ['eur-buyers'] }]);
    const big = await get(`customer?userId=${eve}`);
    expect(big.body.segments.rows).toMatchObject([{ rfm_groups: ['champions'], segments: ['big-spenders', 'eur-buyers'] }]);
  });

  test('experiments: the experiments seen, then per variant exposed, converted, rate, uplift, 95 % interval and p-value', async () => {
    const seen = await get('experiments');
    expect(seen.body.rows).toMatchObject([{ experiment_id: EXPERIMENT, customers: 8 }]);
    const { status, body } = await get(`experiment?experiment=${EXPERIMENT}&goal=Signed%20Up&${experimentRange}`);
    expect(status).toBe(200);
    // By hand: 1/4 against 3/4, difference 0.5, uplift 0.5 / 0.25 = 2; standard error
    // √(0.75·0.25/4 · 2) = 0.3062, so 0.5 ± 1.96 × 0.3062; pooled z = 0.5 / √(0.5·0.5·0.5) = 1.4142, p = 0.1573.
    expect(body.results.rows).toEqual([
      { variant_id: 'control', variant_name: 'Control', is_control: true, exposed: 4, converted: 1, conversion_rate: 0.25,
        uplift: null, ci_low: null, ci_high: null, p_value: null },
      { variant_id: 'green', variant_name: 'Green button', is_control: false, exposed: 4, converted: 3, conversion_rate: 0.75,
        uplift: 2, ci_low: expect.closeTo(-0.1001, 4), ci_high: expect.closeTo(1.1001, 4), p_value: expect.closeTo(0.1573, 3) },
    ]);
    expect(body.results.sql).toContain("experiment_results('checkout-button', 'Signed Up', '2026-07-01T00:00:00.000Z'::timestamptz");
  });

  test('experiments: a funnel broken down by the variant each customer had seen', async () => {
    const { status, body } = await get(`funnel?step=Experiment%20Viewed&step=Signed%20Up&${experimentRange}&within=7%20days&breakdown=experiment:${EXPERIMENT}`);
    expect(status).toBe(200);
    expect(body.funnel.rows.map((row: any) => [row.breakdown_value, row.step, row.customers])).toEqual([
      ['control', 1, 4], ['control', 2, 1],
      ['green', 1, 4], ['green', 2, 3],
    ]);
    expect(body.funnel.sql).toContain("'experiment:checkout-button')");
  });

  test('experiments: no experiment, no goal or an empty experiment breakdown is a 400 that names the field', async () => {
    expect(await get(`experiment?goal=Signed%20Up&${experimentRange}`)).toMatchObject({ status: 400, body: { error: { message: /experiment:/ } } });
    expect(await get(`experiment?experiment=${EXPERIMENT}&${experimentRange}`)).toMatchObject({ status: 400, body: { error: { message: /goal:/ } } });
    expect(await get(`funnel?step=A&step=B&${experimentRange}&within=7%20days&breakdown=experiment:`)).toMatchObject({ status: 400, body: { error: { message: /breakdown:/ } } });
  });
});
