import { Migrator, sql } from 'kysely';
import { migrateToLatest } from '../src/db/migrate.js';
import { migrations } from '../src/db/migrations/index.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, postJson, shop, testApp } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

/**
 * App sessions, with answers worked out by hand: screens count as pages do, and an app's
 * session has a landing screen. Sent through the collector as an app sends them (a client
 * source, no Origin).
 */
const day = '2026-06-10';
const at = (time: string) => `${day}T${time}:00.000Z`;
let n = 0;
const message = (anonymousId: string, time: string, fields: Record<string, unknown>) => ({
  messageId: `app-session-${++n}`,
  anonymousId,
  timestamp: at(time),
  context: { app: { name: 'Shop', version: '3.2.0' }, os: { name: 'iOS', version: '17.4' } },
  ...fields,
});
const screen = (anonymousId: string, time: string, name: string) => message(anonymousId, time, { type: 'screen', name, properties: {} });
const track = (anonymousId: string, time: string, event: string, properties = {}) => message(anonymousId, time, { type: 'track', event, properties });

const batch = [
  // Ann, in the app: two screens, an order, then 45 minutes later a new session on the cart.
  screen('app-ann', '10:00', 'Home'),
  screen('app-ann', '10:01', 'Product'),
  track('app-ann', '10:02', 'Product Added', { product_id: 'p1', price: 20, quantity: 1 }),
  track('app-ann', '10:05', 'Order Completed', { order_id: 'app-o-1', revenue: 20 }),
  screen('app-ann', '10:50', 'Cart'),
  track('app-ann', '10:51', 'Product Viewed', { product_id: 'p2' }),
  // Ben lands on the website, then opens a screen of the app within the same session (an app's web view).
  message('web-ben', '11:00', { type: 'page', properties: {}, context: { page: { url: 'https://shop.example/landing', path: '/landing' } } }),
  screen('web-ben', '11:02', 'Home'),
  track('web-ben', '11:03', 'Product Added', { product_id: 'p1', price: 20, quantity: 1 }),
  // Cat opens the app and sends one track event: no screen, no landing screen.
  track('app-cat', '12:00', 'App Opened'),
];

describe(`app sessions on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    const response = await postJson(testApp(database), '/v1/batch', { batch, sentAt: new Date().toISOString() }, { authorization: basic(shop.writeKey) });
    expect(await response.json()).toMatchObject({ accepted: batch.length, rejected: [] });
  });
  afterAll(() => database.close());

  const customerOf = async (anonymousId: string) =>
    (await database.db.selectFrom('events').select('customer_id').where('anonymous_id', '=', anonymousId).executeTakeFirstOrThrow()).customer_id!;

  test('sessions count screens as they count pages and name the landing screen', async () => {
    const [ann, ben, cat] = [await customerOf('app-ann'), await customerOf('web-ben'), await customerOf('app-cat')];
    const rows = await database.db
      .selectFrom('sessions')
      .select(['customer_id', 'started_at', 'events', 'pageviews', 'screenviews', 'landing_screen', 'landing_page', 'landing_path', 'completed_order'])
      .orderBy('started_at')
      .execute();
    expect(rows.map((r) => ({ ...r, started_at: new Date(r.started_at).toISOString(), events: Number(r.events), pageviews: Number(r.pageviews), screenviews: Number(r.screenviews) }))).toEqual([
      { customer_id: ann, started_at: at('10:00'), events: 4, pageviews: 0, screenviews: 2, landing_screen: 'Home', landing_page: null, landing_path: null, completed_order: true },
      { customer_id: ann, started_at: at('10:50'), events: 2, pageviews: 0, screenviews: 1, landing_screen: 'Cart', landing_page: null, landing_path: null, completed_order: false },
      { customer_id: ben, started_at: at('11:00'), events: 3, pageviews: 1, screenviews: 1, landing_screen: 'Home', landing_page: 'https://shop.example/landing', landing_path: '/landing', completed_order: false },
      { customer_id: cat, started_at: at('12:00'), events: 1, pageviews: 0, screenviews: 0, landing_screen: null, landing_page: null, landing_path: null, completed_order: false },
    ]);
  });

  test('analyst_sessions, customer_profiles, customer_event_days and the funnels agree with the sessions', async () => {
    const q = async (query: string) => (await sql.raw<Record<string, unknown>>(query).execute(database.db)).rows;
    const shared = 'session_id::text, customer_id::text, started_at, events::int, pageviews::int, screenviews::int, landing_screen, landing_path, completed_order';
    const sessions = await q(`select ${shared} from sessions order by started_at`);
    expect(await q(`select ${shared} from analyst_sessions order by started_at`)).toEqual(sessions);
    expect(sessions).toHaveLength(4);

    const profiles = await q(`select customer_id::text, sessions::int from customer_profiles order by customer_id`);
    const perCustomer = await q(`select customer_id::text, count(*)::int as sessions from sessions group by customer_id order by customer_id`);
    expect(profiles).toEqual(perCustomer);

    // Screens are not track events: the roll-up holds the track events alone, one row per customer, event and day.
    const ann = await customerOf('app-ann');
    expect(await q(`select event from customer_event_days where customer_id = '${ann}' order by event`)).toEqual([
      { event: 'Order Completed' },
      { event: 'Product Added' },
      { event: 'Product Viewed' },
    ]);
    expect(await q(`select count(*)::int as n from customer_event_days where event is null or event in ('Home', 'Product', 'Cart')`)).toEqual([{ n: 0 }]);

    const steps = `array['Product Added', 'Order Completed'], '${day}', '2026-06-11', '1 day'`;
    const funnel = await q(`select step, customers::int from funnel(${steps}) order by step`);
    expect(funnel).toEqual([
      { step: 1, customers: 2 },
      { step: 2, customers: 1 },
    ]);
    expect(await q(`select step, customers::int from analyst_funnel(${steps}) order by step`)).toEqual(funnel);
  });

  test('the migration goes down and up again; the analyst reads analyst_sessions after each', async () => {
    const db = database.db;
    const columns = async (view: string) =>
      (await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = ${view} and table_schema = current_schema()`.execute(db)).rows.map((r) => r.column_name);
    const asAnalyst = () =>
      db.transaction().execute(async (trx) => {
        await sql`set local role tally_analyst`.execute(trx);
        return (await sql<{ n: number }>`select count(*)::int as n from analyst_sessions`.execute(trx)).rows[0]!.n;
      });
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('20261201T1200-workspace-identities')).error).toBeUndefined();
    expect(await columns('sessions')).not.toContain('screenviews');
    expect(await columns('analyst_sessions')).not.toContain('landing_screen');
    expect(await asAnalyst()).toBe(4);

    expect(await migrateToLatest(db)).toEqual(['20261202T1200-app-sessions']);
    expect(await columns('sessions')).toEqual(expect.arrayContaining(['screenviews', 'landing_screen']));
    expect(await columns('analyst_sessions')).toEqual(expect.arrayContaining(['screenviews', 'landing_screen']));
    expect(await asAnalyst()).toBe(4);
  });
});
