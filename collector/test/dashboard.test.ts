/**
 * The API behind each dashboard panel, against a seeded shop with answers known by hand
 * (support/dashboard-data.ts), on the real engine, through the whole app: login, session
 * cookie, the read-only role.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testApp } from './support/collector-app.js';
import { CHECKOUT, DASHBOARD_PASSWORD, logIn, RANGE, seedShop, testDashboard, type ShopPeople, type TestDashboard } from './support/dashboard-data.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

type App = ReturnType<typeof testApp>;

describe(`the dashboard's panels on ${testEngine}`, () => {
  let database: TestDatabase;
  let dashboard: TestDashboard;
  let app: App;
  let people: ShopPeople;
  let cookie: string;
  let csrfToken: string;
  const get = async (path: string) => {
    const res = await app.request(`/dashboard/api/${path}`, { headers: { cookie } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const post = async (path: string, body: unknown) => {
    const res = await app.request(`/dashboard/api/${path}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-tally-csrf': csrfToken }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const range = `since=${RANGE.since}&until=${RANGE.until}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    people = await seedShop(database);
    dashboard = await testDashboard(database);
    app = testApp(database, { dashboard });
    ({ cookie, csrfToken } = await logIn(app));
  }, 60_000);
  afterAll(async () => {
    await dashboard?.close();
    await database?.close();
  });

  test('the login sets an HttpOnly, SameSite=Strict session cookie scoped to /dashboard', async () => {
    const res = await app.request('/dashboard/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: DASHBOARD_PASSWORD }) });
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^tally_dashboard=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/dashboard/);
  });

  test('overview: totals for the range with the previous range beside them, revenue per currency', async () => {
    const { status, body } = await get(`overview?${range}`);
    expect(status).toBe(200);
    expect(body.totals.rows).toEqual([
      { period: 'current', events: 14, visitors: 3, customers: 1, orders: 1 },
      { period: 'previous', events: 3, visitors: 1, customers: 1, orders: 1 },
    ]);
    expect(body.revenue.rows).toEqual([
      { currency: 'EUR', revenue: 30, previous_revenue: 0 },
      { currency: 'USD', revenue: 0, previous_revenue: 12.5 },
    ]);
    expect(body.totals.sql).toContain("'2026-05-25T00:00:00.000Z'::timestamptz");
  });

  test('overview: top pages, referrers (other sites only) and UTM sources', async () => {
    const { body } = await get(`overview?${range}`);
    expect(body.pages.rows).toEqual([
      { path: '/products/mug', pageviews: 2, visitors: 2 },
      { path: '/', pageviews: 1, visitors: 1 },
      { path: '/products/cup', pageviews: 1, visitors: 1 },
    ]);
    expect(body.referrers.rows).toEqual([
      { referrer_host: 'search.example', visitors: 1, pageviews: 1 },
      { referrer_host: 'social.example', visitors: 1, pageviews: 1 },
    ]);
    expect(body.utmSources.rows).toEqual([{ utm_source: 'newsletter', visitors: 1, events: 1 }]);
  });

  test('the SQL shown is the SQL run: pasted back through the SQL editor it gives the same rows', async () => {
    const { body } = await get(`overview?${range}`);
    const again = await post('sql', { sql: body.pages.sql });
    expect(again.status).toBe(200);
    expect(again.body.rows).toEqual(body.pages.rows);
  });

  test('live: events that arrived in the last minute', async () => {
    const { body } = await get('live');
    // Every seeded event arrived a moment ago (their timestamps are in June, their arrival now),
    // but the live count looks at events of the last day only.
    expect(body.rows).toEqual([{ last_minute: 0 }]);
    expect(body.sql).toMatch(/received_at >= now\(\) - interval '1 minute'/);
  });

  test('funnel: the event names seen, then the 4-step checkout counts 3, 2, 2, 1', async () => {
    const names = await get('event-names');
    expect(names.body.rows.map((row: { event: string }) => row.event).sort()).toEqual([...CHECKOUT].sort());
    const steps = CHECKOUT.map((step) => `step=${encodeURIComponent(step)}`).join('&');
    const { status, body } = await get(`funnel?${steps}&${range}&within=7%20days`);
    expect(status).toBe(200);
    expect(body.funnel.rows.map((row: any) => [row.step, row.event, row.customers, Number(row.conversion_from_previous)])).toEqual([
      [1, 'Product Viewed', 3, 1],
      [2, 'Product Added', 2, 0.6667],
      [3, 'Checkout Started', 2, 1],
      [4, 'Order Completed', 1, 0.5],
    ]);
    // Ann and Bob each added to cart one minute after viewing.
    expect(body.funnel.rows[1].median_seconds_from_previous).toBe(60);
    expect(body.funnel.sql).toContain("funnel(array['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed']::text[]");
  });

  test('funnel: a breakdown by utm_source splits the customers by their last campaign', async () => {
    const steps = CHECKOUT.map((step) => `step=${encodeURIComponent(step)}`).join('&');
    const { body } = await get(`funnel?${steps}&${range}&within=7%20days&breakdown=utm_source`);
    const counts = body.funnel.rows.map((row: any) => [row.breakdown_value, row.step, row.customers]);
    expect(counts).toEqual([
      [null, 1, 2], [null, 2, 1], [null, 3, 1], [null, 4, 0],
      ['newsletter', 1, 1], ['newsletter', 2, 1], ['newsletter', 3, 1], ['newsletter', 4, 1],
    ]);
  });

  test('funnel: a step name with quotes is a name like any other, not SQL', async () => {
    const steps = ["Product Viewed", "x'); delete from events; --"].map((step) => `step=${encodeURIComponent(step)}`).join('&');
    const { status, body } = await get(`funnel?${steps}&${range}&within=7%20days`);
    expect(status).toBe(200);
    expect(body.funnel.rows.map((row: any) => [row.event, row.customers])).toEqual([['Product Viewed', 3], ["x'); delete from events; --", 0]]);
    expect((await get(`overview?${range}`)).body.totals.rows[0].events).toBe(14);
  });

  test('funnel: bad input is a 400 that names the field', async () => {
    expect(await get(`funnel?step=A&${range}&within=7%20days`)).toMatchObject({ status: 400, body: { error: { message: /steps: expected 2 to 10/ } } });
    expect(await get(`funnel?step=A&step=B&${range}&within=forever`)).toMatchObject({ status: 400, body: { error: { message: /within:/ } } });
    expect(await get(`funnel?step=A&step=B&${range}&within=7%20days&breakdown=email`)).toMatchObject({ status: 400, body: { error: { message: /breakdown:/ } } });
    expect(await get(`funnel?step=A&step=B&since=2026-06-08&until=2026-06-01&within=7%20days`)).toMatchObject({ status: 400, body: { error: { message: /since: must be before until/ } } });
  });

  test('trends: daily active customers, events per day by name, sessions per day by source', async () => {
    const { body } = await get(`trends?${range}`);
    expect(body.dailyActive.rows).toEqual([
      { day: '2026-06-02', customers: 2 },
      { day: '2026-06-03', customers: 1 },
      { day: '2026-06-04', customers: 1 },
    ]);
    expect(body.eventsPerDay.rows.filter((row: any) => row.day === '2026-06-02')).toEqual([
      { day: '2026-06-02', name: '(page)', events: 2 },
      { day: '2026-06-02', name: 'Checkout Started', events: 2 },
      { day: '2026-06-02', name: 'Product Added', events: 2 },
      { day: '2026-06-02', name: 'Product Viewed', events: 2 },
      { day: '2026-06-02', name: '(identify)', events: 1 },
      { day: '2026-06-02', name: 'Order Completed', events: 1 },
    ]);
    expect(body.sessionsPerDay.rows).toEqual([
      { day: '2026-06-02', source: '(none)', sessions: 1 },
      { day: '2026-06-02', source: 'newsletter', sessions: 1 },
      { day: '2026-06-03', source: '(none)', sessions: 1 },
      { day: '2026-06-04', source: '(none)', sessions: 1 },
    ]);
  });

  test("customer 360°: found by e-mail, userId or a device's anonymousId, with both devices' timeline", async () => {
    const byEmail = await get(`customer?email=${encodeURIComponent(people.ann.email.toUpperCase())}`);
    expect(byEmail.status).toBe(200);
    const byUser = await get(`customer?userId=${people.ann.userId}`);
    const byPhone = await get(`customer?anonymousId=${people.ann.phone}`);
    expect(byUser.body.customerIds).toEqual(byEmail.body.customerIds);
    expect(byPhone.body.customerIds).toEqual(byEmail.body.customerIds);
    const body = byEmail.body;
    expect(body.profile.rows).toMatchObject([{ user_ids: [people.ann.userId], email: people.ann.email, traits: { email: people.ann.email, name: 'Ann' }, events: 8, devices: 2 }]);
    expect(body.identities.rows.map((row: any) => [row.kind, row.value]).sort()).toEqual(
      [['anonymous', people.ann.laptop], ['anonymous', people.ann.phone], ['user', people.ann.userId]].sort(),
    );
    expect(body.merges.rows.map((row: any) => row.reason)).toEqual(['identify']);
    expect(body.orders.rows).toMatchObject([{ order_id: expect.stringMatching(/^o-ann-/), revenue: 30, currency: 'EUR', products: 0 }]);
    expect(new Set(body.timeline.rows.map((row: any) => row.anonymous_id))).toEqual(new Set([people.ann.laptop, people.ann.phone]));
    expect(body.timeline.rows).toHaveLength(8);
    expect(body.consent.rows).toEqual([]);
  });

  test('customer 360°: the search shows its SQL like every panel; that text, run as it is in psql, finds the same customers', async () => {
    const email = `  ${people.ann.email.toUpperCase()}`;
    const byEmail = await get(`customer?email=${encodeURIComponent(email)}`);
    expect(byEmail.body.search.sql).toContain(`tally_normalise_email('${email}')`);
    const byUser = await get(`customer?userId=${encodeURIComponent(people.ann.userId)}`);
    expect(byUser.body.search.sql).toMatch(/"kind" = 'user' and "value" = '/);
    for (const found of [byEmail.body, byUser.body]) {
      const { rows } = await sql.raw<{ customer_id: string }>(found.search.sql).execute(database.db);
      expect(rows.map((row) => row.customer_id)).toEqual(found.customerIds);
      expect(found.search.rows.map((row: any) => row.customer_id)).toEqual(found.customerIds);
    }
    // A quote in what was typed stays inside its literal.
    const quoted = await get(`customer?userId=${encodeURIComponent("o'brien'); delete from events; --")}`);
    expect(quoted.status).toBe(404);
  });

  test('customer 360°: nobody found is a 404; a placeholder id or two identifiers is a 400', async () => {
    expect(await get('customer?userId=nobody-here')).toMatchObject({ status: 404 });
    expect(await get('customer?anonymousId=anonymous')).toMatchObject({ status: 400, body: { error: { message: /placeholder/ } } });
    expect(await get(`customer?userId=a&email=b@example.com`)).toMatchObject({ status: 400, body: { error: { message: /exactly one/ } } });
  });

  test('saved queries: saved under a name, listed, read back by id, and run', async () => {
    const text = "select (completed_at at time zone 'UTC')::date::text as day, sum(revenue) as revenue from orders group by 1 order by 1";
    const saved = await post('queries', { name: 'Revenue per day', sql: text, chart: 'line' });
    expect(saved).toMatchObject({ status: 201, body: { id: expect.any(Number) } });
    const again = await post('queries', { name: 'Revenue per day', sql: text, chart: 'bar' });
    expect(again.body.id).toBe(saved.body.id);
    const list = await get('queries');
    expect(list.body.queries).toMatchObject([{ id: saved.body.id, name: 'Revenue per day', chart: 'bar' }]);
    const one = await get(`queries/${saved.body.id}`);
    expect(one.body).toMatchObject({ name: 'Revenue per day', sql: text, chart: 'bar' });
    const run = await post('sql', { sql: one.body.sql });
    expect(run.body).toMatchObject({ columns: ['day', 'revenue'], rows: [{ day: '2026-05-28', revenue: 12.5 }, { day: '2026-06-02', revenue: 30 }], truncated: false });
  });

  test('saved queries: an unknown id is a 404, a write or an empty name is refused and nothing is saved', async () => {
    expect(await get('queries/999999')).toMatchObject({ status: 404 });
    expect(await post('queries', { name: 'Wipe', sql: 'delete from events' })).toMatchObject({ status: 400, body: { error: { code: 'not_read_only' } } });
    expect(await post('queries', { name: ' ', sql: 'select 1' })).toMatchObject({ status: 400, body: { error: { message: /name/ } } });
    const list = await get('queries');
    expect(list.body.queries.map((query: any) => query.name)).not.toContain('Wipe');
  });
});
