/**
 * What the dashboard refuses: requests without a session, writes without the session's CSRF
 * token or from another site, and any write through the SQL editor, which runs as the
 * read-only `tally_dashboard` role.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLoginThrottle } from '../src/dashboard/login-throttle.js';
import { testApp } from './support/collector-app.js';
import { DASHBOARD_PASSWORD, logIn, RANGE, seedShop, testDashboard, type TestDashboard } from './support/dashboard-data.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

type App = ReturnType<typeof testApp>;

describe(`the dashboard's refusals on ${testEngine}`, () => {
  let database: TestDatabase;
  let dashboard: TestDashboard;
  let app: App;
  let session: { cookie: string; csrfToken: string };
  const events = async () => (await sql<{ n: number }>`select count(*)::int as n from events`.execute(database.db)).rows[0]!.n;
  const savedQueries = async () => (await sql<{ n: number }>`select count(*)::int as n from dashboard_queries`.execute(database.db)).rows[0]!.n;
  const runSql = async (text: string, headers: Record<string, string> = {}) => {
    const res = await app.request('/dashboard/api/sql', {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-tally-csrf': session.csrfToken, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ sql: text }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedShop(database);
    dashboard = await testDashboard(database);
    app = testApp(database, { dashboard });
    session = await logIn(app);
  }, 60_000);
  afterAll(async () => {
    await dashboard?.close();
    await database?.close();
  });

  test('without TALLY_DASHBOARD the dashboard does not exist', async () => {
    const off = testApp(database);
    expect((await off.request('/dashboard')).status).toBe(404);
    expect((await off.request('/dashboard/api/overview')).status).toBe(404);
  });

  test('every API route answers 401 without a session, or with a made-up one', async () => {
    const paths = [`overview?since=${RANGE.since}&until=${RANGE.until}`, 'live', 'event-names', 'funnel?step=a&step=b', 'trends', 'customer?userId=x', 'queries', 'queries/1', 'session'];
    for (const cookie of [undefined, 'tally_dashboard=made-up-session-id']) {
      for (const path of paths) {
        const res = await app.request(`/dashboard/api/${path}`, { headers: cookie ? { cookie } : {} });
        expect(res.status, path).toBe(401);
      }
      const res = await app.request('/dashboard/api/sql', { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ sql: 'select 1' }) });
      expect(res.status).toBe(401);
    }
  });

  test('a wrong password is refused; the admin key opens the dashboard too', async () => {
    expect(await logIn(app, 'not-the-password')).toMatchObject({ status: 401, cookie: '' });
    const admin = await logIn(app, 'admin-key-for-tests');
    expect(admin.status).toBe(200);
    expect((await app.request('/dashboard/api/live', { headers: { cookie: admin.cookie } })).status).toBe(200);
  });

  test('after 5 failed logins from one address in a minute its logins get 429 with Retry-After, even with the right password; other addresses log in', async () => {
    let at = 0;
    const throttled = testApp(database, {
      dashboard: { ...dashboard, loginThrottle: createLoginThrottle({ now: () => at }) },
      peerAddress: (c) => c.req.header('x-test-peer'),
    });
    const attempt = (password: string, peer: string) =>
      throttled.request('/dashboard/login', { method: 'POST', headers: { 'content-type': 'application/json', 'x-test-peer': peer }, body: JSON.stringify({ password }) });
    // Right passwords are not counted: someone who logs in often is never slowed.
    for (let i = 0; i < 8; i++) expect((await attempt(DASHBOARD_PASSWORD, '203.0.113.7')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await attempt(`guess-${i}`, '203.0.113.7')).status).toBe(401);
    const refused = await attempt(DASHBOARD_PASSWORD, '203.0.113.7');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('12');
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(await refused.json()).toMatchObject({ error: { code: 'rate_limited', message: /too many failed logins/ } });
    // A one-time link from that address waits too; its token is not spent.
    const token = dashboard.sessions.issueLoginToken();
    const link = () => throttled.request(`/dashboard/login/${token}`, { headers: { 'x-test-peer': '203.0.113.7' } });
    expect((await link()).status).toBe(429);
    // Another address (another IPv6 /64) is not held back.
    expect((await attempt(DASHBOARD_PASSWORD, '2001:db8:1:2::9')).status).toBe(200);
    // One more failed login a twelfth of a minute later.
    at += 12_000;
    expect((await link()).status).toBe(303);
    expect((await attempt('guess-5', '203.0.113.7')).status).toBe(401);
    expect((await attempt(DASHBOARD_PASSWORD, '203.0.113.7')).status).toBe(429);
  });

  test('a one-time login link opens one session, once', async () => {
    const token = dashboard.sessions.issueLoginToken();
    const first = await app.request(`/dashboard/login/${token}`);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/dashboard#funnel');
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect((await app.request('/dashboard/api/live', { headers: { cookie } })).status).toBe(200);
    const second = await app.request(`/dashboard/login/${token}`);
    expect(second.status).toBe(401);
    expect(second.headers.get('set-cookie')).toBeNull();
  });

  test('a write without the CSRF token, with another token, or from another site is refused and saves nothing', async () => {
    const before = await savedQueries();
    const save = (headers: Record<string, string>) =>
      app.request('/dashboard/api/queries', {
        method: 'POST',
        headers: { cookie: session.cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'Planted', sql: 'select 1' }),
      });
    expect((await save({})).status).toBe(403);
    expect((await save({ 'x-tally-csrf': 'another-token' })).status).toBe(403);
    expect((await save({ 'x-tally-csrf': session.csrfToken, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await save({ 'x-tally-csrf': session.csrfToken, origin: 'https://attacker.example' })).status).toBe(403);
    const login = await app.request('/dashboard/login', {
      method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://attacker.example' }, body: JSON.stringify({ password: DASHBOARD_PASSWORD }),
    });
    expect(login.status).toBe(403);
    expect(await savedQueries()).toBe(before);
    expect((await save({ 'x-tally-csrf': session.csrfToken })).status).toBe(201);
  });

  test('the SQL editor refuses writes: the statement check first, the read-only transaction and role behind it', async () => {
    const before = await events();
    expect(await runSql('delete from events')).toMatchObject({ status: 400, body: { error: { code: 'not_read_only', message: /read-only queries/ } } });
    expect(await runSql('select 1; delete from events')).toMatchObject({ status: 400, body: { error: { message: /one statement/ } } });
    expect(await runSql("select set_config('role', 'postgres', true)")).toMatchObject({ status: 400, body: { error: { message: /set_config\(\) is not allowed/ } } });
    expect(await runSql('with gone as (delete from events returning 1) select count(*) from gone')).toMatchObject({
      status: 400, body: { error: { message: /read-only transaction|permission denied/ } },
    });
    expect(await runSql("select tally_create_event_partitions('2031-01-01', '2031-03-01')")).toMatchObject({ status: 400 });
    expect(await events()).toBe(before);
  });

  test('the SQL editor runs as a member of tally_dashboard that may not write, and cannot read the deletion log', async () => {
    const who = await runSql(
      "select pg_has_role(current_user, 'tally_dashboard', 'member') as dashboard, has_table_privilege('events', 'insert') as writes, has_table_privilege('events', 'select') as reads",
    );
    expect(who).toMatchObject({ status: 200, body: { rows: [{ dashboard: true, writes: false, reads: true }] } });
    expect(await runSql('select * from deletion_log')).toMatchObject({ status: 400, body: { error: { code: 'permission_denied' } } });
  });

  test('bad SQL is answered with the database\'s message, and the dashboard goes on', async () => {
    expect(await runSql('select frobnicate from events')).toMatchObject({ status: 400, body: { error: { code: 'query_failed', message: /frobnicate/ } } });
    expect(await runSql('select 1 as one')).toMatchObject({ status: 200, body: { rows: [{ one: 1 }] } });
  });
});
