import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { expect } from 'vitest';
import { createDashboardReader, DASHBOARD_ROLE, type DashboardReader } from '../../src/dashboard/reader.js';
import { createDashboardSessions, type DashboardSessions } from '../../src/dashboard/sessions.js';
import { refreshDailyRollups } from '../../src/retention/rollups.js';
import { daysAgo } from './analytics-events.js';
import { basic, postJson, shop, testApp, trackEvent } from './collector-app.js';

type App = ReturnType<typeof testApp>;
import type { TestDatabase } from './test-database.js';

export const DASHBOARD_PASSWORD = 'dashboard-password-for-tests';

/** The dashboard's reader and sessions over a test database, as `startCollector` builds them. */
export interface TestDashboard {
  reader: DashboardReader;
  sessions: DashboardSessions;
  close(): Promise<void>;
}

/**
 * The dashboard over `database`: on Postgres through a login role made for the test, a member
 * of `tally_dashboard` (what TALLY_DASHBOARD_DATABASE_URL names in production); on PGlite
 * through `set local role` on the one session.
 */
export async function testDashboard(database: TestDatabase): Promise<TestDashboard> {
  const sessions = createDashboardSessions({ secrets: [DASHBOARD_PASSWORD, 'admin-key-for-tests'] });
  if (database.url === undefined) {
    const reader = await createDashboardReader(database, undefined);
    return { reader, sessions, close: () => reader.close() };
  }
  const login = `tally_test_dashboard_${randomBytes(4).toString('hex')}`;
  await sql.raw(`create role ${login} login in role ${DASHBOARD_ROLE}`).execute(database.db);
  const url = new URL(database.url);
  url.username = login;
  url.password = '';
  const reader = await createDashboardReader(database, url.toString());
  return {
    reader,
    sessions,
    close: async () => {
      await reader.close();
      await sql.raw(`drop role ${login}`).execute(database.db);
    },
  };
}

/** The shop's four checkout steps. */
export const CHECKOUT = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'];

/** The range the seeded shop data falls in, and the one before it. */
export const RANGE = { since: '2026-06-01', until: '2026-06-08', previousSince: '2026-05-25' };

/** The people of the seeded shop, with identifiers unique to the test run. */
export interface ShopPeople {
  ann: { userId: string; email: string; laptop: string; phone: string };
  bob: { anonymousId: string };
  cid: { anonymousId: string };
  dee: { userId: string; anonymousId: string };
}

const at = (day: string, time: string) => `2026-${day}T${time}:00.000Z`;

/**
 * Sends a small shop's week through the collector's HTTP path, with answers known by hand:
 *
 * - Ann (laptop, then her phone, logged in as one customer) views, adds, starts checkout and
 *   orders 30 EUR on 2 June, arriving from search.example with utm_source=newsletter;
 * - Bob views, adds and starts checkout on 2 June, from social.example;
 * - Cid only views on 4 June;
 * - Dee views and orders 12.50 USD on 28 May (the previous range).
 *
 * In 1–8 June: 3 visitors, 1 customer who ordered, 1 order, 14 events; the 4-step checkout
 * funnel counts 3, 2, 2, 1. In 25 May–1 June: 1 visitor, 1 customer, 1 order, 3 events.
 */
export async function seedShop(database: TestDatabase): Promise<ShopPeople> {
  const tag = randomBytes(3).toString('hex');
  const people: ShopPeople = {
    ann: { userId: `ann-${tag}`, email: `ann-${tag}@example.com`, laptop: `ann-laptop-${tag}`, phone: `ann-phone-${tag}` },
    bob: { anonymousId: `bob-${tag}` },
    cid: { anonymousId: `cid-${tag}` },
    dee: { userId: `dee-${tag}`, anonymousId: `dee-${tag}` },
  };
  const { ann, bob, cid, dee } = people;
  const page = (anonymousId: string, timestamp: string, path: string, referrer?: string, query = '') =>
    trackEvent({
      type: 'page', event: undefined, anonymousId, timestamp, properties: {},
      context: { page: { url: `https://shop.example${path}${query}`, path, ...(referrer ? { referrer } : {}) } },
    });
  const track = (event: string, anonymousId: string, timestamp: string, properties: Record<string, unknown> = {}, userId?: string) =>
    trackEvent({ event, anonymousId, timestamp, properties: { product_id: 'mug', ...properties }, ...(userId ? { userId } : {}) });
  const batch = [
    page(ann.laptop, at('06-02', '10:00'), '/products/mug', 'https://search.example/?q=mug', '?utm_source=newsletter'),
    track('Product Viewed', ann.laptop, at('06-02', '10:01')),
    track('Product Added', ann.laptop, at('06-02', '10:02')),
    trackEvent({ type: 'identify', event: undefined, anonymousId: ann.laptop, userId: ann.userId, timestamp: at('06-02', '10:03'), traits: { email: ann.email, name: 'Ann' } }),
    track('Checkout Started', ann.laptop, at('06-02', '10:04'), {}, ann.userId),
    track('Order Completed', ann.laptop, at('06-02', '10:05'), { order_id: `o-ann-${tag}`, revenue: 30, currency: 'EUR' }, ann.userId),
    page(ann.phone, at('06-03', '09:00'), '/products/cup'),
    trackEvent({ type: 'identify', event: undefined, anonymousId: ann.phone, userId: ann.userId, timestamp: at('06-03', '09:01') }),
    page(bob.anonymousId, at('06-02', '11:00'), '/products/mug', 'https://social.example/post/1'),
    track('Product Viewed', bob.anonymousId, at('06-02', '11:01')),
    track('Product Added', bob.anonymousId, at('06-02', '11:02')),
    track('Checkout Started', bob.anonymousId, at('06-02', '11:03')),
    page(cid.anonymousId, at('06-04', '12:00'), '/'),
    track('Product Viewed', cid.anonymousId, at('06-04', '12:01')),
    page(dee.anonymousId, at('05-28', '08:00'), '/products/mug'),
    track('Product Viewed', dee.anonymousId, at('05-28', '08:01'), {}, dee.userId),
    track('Order Completed', dee.anonymousId, at('05-28', '08:05'), { order_id: `o-dee-${tag}`, revenue: 12.5, currency: 'USD' }, dee.userId),
  ];
  const app = testApp(database);
  // One request per event, in order, as browsers send them.
  for (const event of batch) {
    const res = await postJson(app, '/v1/batch', { batch: [event] }, { authorization: basic(shop.writeKey) });
    const answer = await res.json();
    expect(answer, JSON.stringify(answer)).toMatchObject({ accepted: 1 });
  }
  await app.writer.drain();
  // The days are older than the scheduled refresh's yesterday and today: refreshed as an
  // operator refreshes late events (collector/README.md, Dashboard).
  await refreshDailyRollups(database.db, { from: RANGE.previousSince, to: RANGE.until });
  return people;
}

/** The experiment's customers: control 1 of 4 signs up after seeing it, green 3 of 4. */
export const EXPERIMENT = 'checkout-button';
/** The range the experiment's exposures fall in (after the shop's weeks, so their figures stay as they are). */
export const EXPERIMENT_RANGE = { since: '2026-07-01', until: '2026-07-08' };
const exposedAt = (time: string) => `2026-07-05T${time}:00.000Z`;

/**
 * On top of the shop (`seedShop`: Ann 30 EUR on 2 June, Dee 12.50 USD):
 * Eve orders 100 EUR three times in the last 30 days; eight visitors see the experiment.
 * In EUR, Eve scores 5 5 5 (champions) and Ann 1 1 1 (hibernating); Dee, alone in USD,
 * 1 1 1 (hibernating). Saved segments: `eur-buyers` (Ann, Eve), `big-spenders` (Eve).
 */
export async function seedAnalytics(database: TestDatabase, people: ShopPeople): Promise<{ eve: string }> {
  const tag = people.ann.userId.slice('ann-'.length);
  const eve = `eve-${tag}`;
  const events = [
    ...[30, 10, 1].map((days, i) =>
      trackEvent({ event: 'Order Completed', anonymousId: eve, userId: eve, timestamp: daysAgo(days).toISOString(), properties: { order_id: `o-eve-${i}-${tag}`, revenue: 100, currency: 'EUR' } })),
    ...(['control', 'green'] as const).flatMap((variant) =>
      [0, 1, 2, 3].flatMap((i) => {
        const anonymousId = `${variant}-${i}-${tag}`;
        const converts = variant === 'control' ? i < 1 : i < 3;
        return [
          trackEvent({ event: 'Experiment Viewed', anonymousId, timestamp: exposedAt('10:00'), properties: { experiment_id: EXPERIMENT, variant_id: variant, variant_name: variant === 'control' ? 'Control' : 'Green button' } }),
          ...(converts ? [trackEvent({ event: 'Signed Up', anonymousId, timestamp: exposedAt('10:10'), properties: {} })] : []),
        ];
      })),
  ];
  const app = testApp(database);
  for (const event of events) {
    const res = await postJson(app, '/v1/batch', { batch: [event] }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toMatchObject({ accepted: 1 });
  }
  await app.writer.drain();
  await sql`insert into segments (name, description, definition) values
    ('eur-buyers', 'Ordered in EUR', ${"select customer_id from orders where currency = 'EUR'"}),
    ('big-spenders', 'Net revenue of 100 or more in a currency', 'select customer_id from customer_revenue where net_revenue >= 100')`.execute(database.db);
  return { eve };
}

/** Logs in to the dashboard of `app`: the answer's status, the session cookie to send back and the CSRF token. */
export async function logIn(app: App, password = DASHBOARD_PASSWORD): Promise<{ status: number; cookie: string; csrfToken: string }> {
  const res = await app.request('/dashboard/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
  const body = (await res.json()) as { csrfToken?: string };
  return { status: res.status, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrfToken: body.csrfToken ?? '' };
}
