import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

type Query = (text: string) => Promise<Record<string, unknown>[]>;

/**
 * Runs `work` as a person holding `role`: on Postgres through a login role made for the test
 * (a member of `role`) on a connection of its own; on PGlite, which has one session, with
 * `set role`.
 */
async function asRole(database: TestDatabase, role: string, work: (query: Query) => Promise<void>): Promise<void> {
  if (database.url === undefined) {
    await sql.raw(`set role ${role}`).execute(database.db);
    try {
      await work(async (text) => (await sql.raw<Record<string, unknown>>(text).execute(database.db)).rows);
    } finally {
      await sql.raw('reset role').execute(database.db);
    }
    return;
  }
  const login = `tally_test_${role.replace('tally_', '')}_${randomBytes(4).toString('hex')}`;
  await sql.raw(`create role ${login} login in role ${role}`).execute(database.db);
  const url = new URL(database.url);
  url.username = login;
  url.password = '';
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    await work(async (text) => (await client.query(text)).rows);
  } finally {
    await client.end().catch(() => undefined);
    await sql.raw(`drop role ${login}`).execute(database.db);
  }
}

async function refusal(query: Query, text: string): Promise<string | undefined> {
  try {
    await query(text);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

const PERMISSION_DENIED = '42501';

describe(`access by data category on ${testEngine}`, () => {
  let database: TestDatabase;
  const email = `ann-${randomUUID().slice(0, 8)}@example.com`;
  beforeAll(async () => {
    database = await createTestDatabase();
    const app = testApp(database);
    const at = '2026-06-01T10:00:00.000Z';
    const res = await postJson(
      app,
      '/v1/batch',
      {
        batch: [
          trackEvent({
            type: 'identify', event: undefined, userId: 'ann-1', traits: { email, firstName: 'Ann' }, timestamp: at,
            context: { ip: '203.0.113.7', page: { url: `https://shop.example/p?email=${email}`, path: '/p', referrer: `https://mail.example/read?to=${email}` } },
          }),
          trackEvent({ event: 'Product Viewed', userId: 'ann-1', properties: { product_id: 'p-1', note: email }, timestamp: at }),
          trackEvent({ event: 'Order Completed', userId: 'ann-1', properties: { order_id: 'o-1', revenue: 30, currency: 'EUR' }, timestamp: '2026-06-01T10:05:00.000Z' }),
          trackEvent({ event: 'Experiment Viewed', userId: 'ann-1', properties: { experiment_id: 'x-1', variant_id: 'control' }, timestamp: '2026-06-01T10:01:00.000Z' }),
          trackEvent({
            event: 'Survey Responded', userId: 'ann-1', timestamp: '2026-06-01T10:06:00.000Z',
            properties: { survey_id: 'nps', scale: 'nps', score: 9, comment: `Write to me at ${email}, Ann` },
          }),
        ],
      },
      { authorization: basic(shop.writeKey), 'x-forwarded-for': '203.0.113.7' },
    );
    const answer = await res.json();
    expect(answer, JSON.stringify(answer)).toMatchObject({ accepted: 5 });
    await sql`insert into segments (name, definition) values ('buyers', 'select customer_id from orders')`.execute(database.db);
  });
  afterAll(() => database.close());

  test('the roles exist as group roles without login', async () => {
    const { rows } = await sql<{ rolname: string; rolcanlogin: boolean }>`
      select rolname, rolcanlogin from pg_roles where rolname in ('tally_admin', 'tally_marketer', 'tally_analyst') order by rolname`.execute(database.db);
    expect(rows).toEqual([
      { rolname: 'tally_admin', rolcanlogin: false },
      { rolname: 'tally_analyst', rolcanlogin: false },
      { rolname: 'tally_marketer', rolcanlogin: false },
    ]);
  });

  test('an analyst reads events, sessions and funnels without e-mail, IP, ids, names or free-form data, and nothing else', async () => {
    await asRole(database, 'tally_analyst', async (query) => {
      const events = await query(`select * from analyst_events where source_id = 'shop'`);
      expect(events.length).toBe(5);
      for (const column of ['ip', 'user_id', 'anonymous_id', 'message_id', 'url', 'referrer', 'properties', 'traits', 'context']) {
        expect(Object.keys(events[0]!)).not.toContain(column);
      }
      expect(events.map((e) => e.referrer_host)).toContain('mail.example');
      const sessions = await query('select * from analyst_sessions');
      expect(sessions.length).toBe(1);
      const funnel = await query(`select customers from analyst_funnel(array['Product Viewed', 'Order Completed'], '2026-06-01', '2026-06-02', '1 hour', 'utm_source')`);
      expect(funnel.map((r) => Number(r.customers))).toEqual([1, 1]);
      const byVariant = await query(`select breakdown_value, customers from analyst_funnel(array['Experiment Viewed', 'Order Completed'], '2026-06-01', '2026-06-02', '1 hour', 'experiment:x-1')`);
      expect(byVariant.map((r) => [r.breakdown_value, Number(r.customers)])).toEqual([['control', 1], ['control', 1]]);
      expect(await query(`select order_id, revenue::float8 as revenue from orders`)).toEqual([{ order_id: 'o-1', revenue: 30 }]);
      // Revenue, segments, experiments and scores: the reports, without what names a person.
      const reports = [
        await query('select * from order_revenue'), await query('select * from customer_revenue'), await query('select * from revenue_by_day'),
        await query('select * from customer_lifetime_value()'), await query('select * from customer_rfm'), await query('select * from repeat_buyers'),
        await query(`select * from cart_abandoners('30 days')`), await query('select * from segments'), await query(`select * from segment_members('buyers')`),
        await query(`select * from experiment_results('x-1', 'Order Completed', '2026-06-01', '2026-06-02')`),
        await query('select * from survey_scores'), await query('select * from customer_latest_scores'),
        await query(`select * from nps('2026-06-01', '2026-07-01')`),
      ];
      expect(reports.map((rows) => rows.length)).toEqual([1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]);
      // Whatever the analyst can read holds neither the e-mail nor the address.
      const everything = JSON.stringify([events, sessions, funnel, await query('select * from order_items'), await query('select * from customer_event_days'), reports]);
      expect(everything).not.toContain(email);
      expect(everything).not.toContain('203.0.113');
      expect(everything).not.toContain('Ann');

      for (const table of [
        'events', 'customer_profiles', 'sessions', 'events_with_session', 'customers', 'identities', 'rejected_events', 'event_messages',
        'survey_responses', 'segment_memberships', 'experiment_exposures',
      ]) {
        expect(await refusal(query, `select 1 from ${table} limit 1`), table).toBe(PERMISSION_DENIED);
      }
      expect(await refusal(query, `insert into segments (name, definition) values ('mine', 'select customer_id from orders')`)).toBe(PERMISSION_DENIED);
      expect(await refusal(query, `insert into exchange_rates values ('EUR', '2026-01-01', 1)`)).toBe(PERMISSION_DENIED);
      expect(await refusal(query, `select * from funnel(array['Product Viewed'], '2026-06-01', '2026-06-02', '1 hour')`)).toBe(PERMISSION_DENIED);
      // A breakdown by a personal column is refused, not answered.
      expect(await refusal(query, `select * from analyst_funnel(array['Product Viewed'], '2026-06-01', '2026-06-02', '1 hour', 'ip')`)).toBe('22023');
      expect(await refusal(query, `delete from customer_event_days`)).toBe(PERMISSION_DENIED);
    });
  });

  test('a marketer reads profiles with their traits, events, funnels and survey comments, keeps segments and exchange rates, but reads not the identity graph, refused events or ledgers, and writes no event', async () => {
    await asRole(database, 'tally_marketer', async (query) => {
      const profiles = await query(`select email, name, revenue, segments, nps_score::int as nps_score from customer_profiles where user_id = 'ann-1'`);
      expect(profiles).toEqual([{ email, name: 'Ann', revenue: { EUR: 30 }, segments: ['buyers'], nps_score: 9 }]);
      expect(await query('select comment from survey_responses')).toEqual([{ comment: `Write to me at ${email}, Ann` }]);
      await query(`insert into segments (name, definition) values ('surveyed', 'select customer_id from survey_scores')`);
      expect((await query(`select * from segment_members('surveyed')`)).length).toBe(1);
      await query(`insert into exchange_rates values ('EUR', '2026-01-01', 1)`);
      expect((await query('select converted_revenue::float8 as converted_revenue from customer_profiles'))[0]).toEqual({ converted_revenue: 30 });
      expect((await query(`select * from experiment_results('x-1', 'Order Completed', '2026-06-01', '2026-06-02')`)).map((r) => Number(r.converted))).toEqual([1]);
      expect((await query(`select count(*)::int as n from events where source_id = 'shop'`))[0]).toEqual({ n: 5 });
      expect((await query('select * from sessions')).length).toBe(1);
      const funnel = await query(`select customers from funnel(array['Product Viewed', 'Order Completed'], '2026-06-01', '2026-06-02', '1 hour')`);
      expect(funnel.map((r) => Number(r.customers))).toEqual([1, 1]);
      for (const table of ['identities', 'identity_merges', 'rejected_events', 'event_messages']) {
        expect(await refusal(query, `select 1 from ${table} limit 1`), table).toBe(PERMISSION_DENIED);
      }
      expect(await refusal(query, `delete from events`)).toBe(PERMISSION_DENIED);
      expect(await refusal(query, `update customers set traits = '{}'`)).toBe(PERMISSION_DENIED);
    });
  });

  test('an admin reads and changes everything', async () => {
    // Partitions the schedule makes after the migration are the admin's too.
    await sql`select tally_create_event_partitions('2019-01-01', '2019-01-01')`.execute(database.db);
    await asRole(database, 'tally_admin', async (query) => {
      for (const table of ['events', 'customer_profiles', 'identities', 'identity_merges', 'rejected_events', 'event_messages', 'customer_event_days', 'analyst_events']) {
        expect(await refusal(query, `select 1 from ${table} limit 1`), table).toBeUndefined();
      }
      expect(await refusal(query, 'select 1 from events_2019_01 limit 1')).toBeUndefined();
      expect(await refusal(query, `update customers set traits = traits where false`)).toBeUndefined();
    });
  });
});
