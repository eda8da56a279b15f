import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDatabase, type Database } from '../src/db/database.js';
import { sqlArray } from '../src/db/people-store.js';
import { exportPerson, type PersonExport } from '../src/privacy/export.js';
import { forgetPerson } from '../src/privacy/forget.js';
import { findPerson } from '../src/privacy/person.js';
import { basic, postJson, shop, testApp, testConfig, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const run = promisify(execFile);
const ORIGIN = Date.parse('2026-11-20T09:00:00Z');
const at = (minutes: number) => new Date(ORIGIN + minutes * 60_000).toISOString();

/** Sends a batch through the collector as the shop would. */
async function send(app: ReturnType<typeof testApp>, batch: Record<string, unknown>[]) {
  const res = await postJson(app, '/v1/batch', { batch, sentAt: new Date().toISOString() }, { authorization: basic(shop.writeKey) });
  expect(res.status).toBe(200);
  return (await res.json()) as { accepted: number; rejected: unknown[] };
}

const consentUpdated = (anonymousId: string, minutes: number, preferences: Record<string, boolean>, userId?: string) =>
  trackEvent({
    event: 'Consent Updated',
    anonymousId,
    ...(userId ? { userId } : {}),
    timestamp: at(minutes),
    properties: preferences,
    context: { consent: { category: 'necessary', categoryPreferences: preferences } },
  });

/**
 * Ann browses on a laptop, consents, logs in, browses on a phone and widens her consent;
 * two of her events are refused (kept in rejected_events). Bob is a bystander with his own
 * refused event. Everything goes through the collector's HTTP path.
 */
async function journey(app: ReturnType<typeof testApp>) {
  const ann = { userId: unique('ann'), email: `${unique('ann')}@example.com`, laptop: unique('laptop'), phone: unique('phone') };
  const bob = { userId: unique('bob'), anonymousId: unique('bob-browser') };
  const analyticsOnly = { analytics: true, marketing: false };
  const everything = { analytics: true, marketing: true };
  await send(app, [
    trackEvent({ type: 'page', event: undefined, name: 'Home', anonymousId: ann.laptop, timestamp: at(0), context: { consent: { categoryPreferences: analyticsOnly } } }),
    consentUpdated(ann.laptop, 1, analyticsOnly),
  ]);
  await send(app, [
    trackEvent({
      type: 'identify', event: undefined, anonymousId: ann.laptop, userId: ann.userId, timestamp: at(2),
      traits: { email: ` ${ann.email.toUpperCase()} `, name: 'Ann' }, context: { consent: { categoryPreferences: analyticsOnly } },
    }),
  ]);
  await send(app, [trackEvent({ type: 'page', event: undefined, name: 'Home', anonymousId: ann.phone, timestamp: at(9) })]);
  await send(app, [
    trackEvent({ type: 'identify', event: undefined, anonymousId: ann.phone, userId: ann.userId, timestamp: at(10), context: { consent: { categoryPreferences: analyticsOnly } } }),
    consentUpdated(ann.phone, 11, everything, ann.userId),
    trackEvent({ event: 'Article Read', anonymousId: ann.phone, userId: ann.userId, timestamp: at(12), context: { consent: { categoryPreferences: everything } } }),
  ]);
  const refused = await send(app, [
    { ...trackEvent({ userId: ann.userId, anonymousId: ann.phone, timestamp: at(13) }), event: undefined },
    { ...trackEvent({ anonymousId: ann.laptop, timestamp: at(14), context: { ip: '203.0.113.77' } }), event: 42 },
    { ...trackEvent({ userId: bob.userId, anonymousId: bob.anonymousId }), event: undefined },
  ]);
  expect(refused.rejected).toHaveLength(3);
  await send(app, [trackEvent({ type: 'identify', event: undefined, userId: bob.userId, anonymousId: bob.anonymousId, traits: { email: 'bob@example.com' } })]);
  return { ann, bob, analyticsOnly, everything };
}

describe(`data rights on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database);
  });
  afterAll(() => database.close());
  const db = () => database.db;

  const customerOf = async (kind: 'user' | 'anonymous', value: string) =>
    (await db().selectFrom('identities').select('customer_id').where('kind', '=', kind).where('value', '=', value).executeTakeFirst())?.customer_id;
  const heldAbout = async (customerId: string, hashesOf: string[]) => ({
    events: (await db().selectFrom('events').select('id').where('customer_id', '=', customerId).execute()).length,
    identities: (await db().selectFrom('identities').select('value').where('customer_id', '=', customerId).execute()).length,
    customers: (await db().selectFrom('customers').select('id').where('id', '=', customerId).execute()).length,
    merges: (await db().selectFrom('identity_merges').select('id').where((eb) => eb.or([eb('from_customer_id', '=', customerId), eb('into_customer_id', '=', customerId)])).execute()).length,
    rejected: await rejectedCarrying(hashesOf),
  });
  const rejectedCarrying = async (identifiers: string[]) => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from rejected_events r
      where exists (select 1 from unnest(r.identity_hashes) h
                    where h in (select tally_identity_hash(k, v) from unnest(array['user', 'anonymous']) k, unnest(${sqlArray(identifiers, 'text')}) v))`.execute(db());
    return rows[0]!.n;
  };

  test('finds a person by userId, anonymousId or e-mail (trimmed, lower-case) and says what is held and on what consent', async () => {
    const { ann, analyticsOnly, everything } = await journey(app);
    const byUser = await findPerson(db(), { userId: ann.userId });
    expect(byUser).toEqual({
      customers: [
        expect.objectContaining({
          user_ids: [ann.userId],
          anonymous_ids: 2,
          identities: 3,
          trait_keys: ['email', 'name'],
          events: 7,
          consent: everything,
          consent_changes: [
            expect.objectContaining({ source_id: 'shop', category_preferences: analyticsOnly }),
            expect.objectContaining({ source_id: 'shop', category_preferences: everything }),
          ],
          rejected_events: 2,
        }),
      ],
      rejectedEvents: 2,
    });
    expect(byUser!.customers[0]!.first_seen?.toISOString()).toBe(at(0));
    expect(byUser!.customers[0]!.last_seen?.toISOString()).toBe(at(12));
    expect(await findPerson(db(), { anonymousId: ann.laptop })).toEqual(byUser);
    expect(await findPerson(db(), { email: `  ${ann.email.replace('ann', 'ANN')}\t` })).toEqual(byUser);
    expect(await findPerson(db(), { email: `${unique('nobody')}@example.com` })).toBeNull();
  });

  test('the customer_transparency view answers in SQL what is held per person and the consent history', async () => {
    const { ann, everything } = await journey(app);
    const customer = (await customerOf('user', ann.userId))!;
    const { rows } = await sql<{ events: number; identities: number; consent: unknown; changes: number; last_change: Date; rejected_events: number }>`
      select events, identities, consent, jsonb_array_length(consent_changes) as changes, last_consent_change_at as last_change, rejected_events
      from customer_transparency where customer_id = ${customer}`.execute(db());
    expect(rows).toEqual([{ events: 7, identities: 3, consent: everything, changes: 2, last_change: new Date(at(11)), rejected_events: 2 }]);
    const changes = await db().selectFrom('consent_changes').select(['changed_at', 'category_preferences']).where('customer_id', '=', customer).orderBy('changed_at').execute();
    expect(changes.map((change) => change.changed_at.toISOString())).toEqual([at(1), at(11)]);
  });

  test('exports everything held about a person as one JSON document', async () => {
    const { ann, bob, analyticsOnly, everything } = await journey(app);
    const document = (await exportPerson(db(), { email: ann.email }, new Date('2026-12-01T00:00:00Z')))!;
    const parsed = JSON.parse(JSON.stringify(document)) as PersonExport;
    expect(parsed).toMatchObject({ format: 'tally-person-export/1', exportedAt: '2026-12-01T00:00:00.000Z', query: { email: ann.email } });
    expect(parsed.profile).toEqual([expect.objectContaining({ traits: { email: ` ${ann.email.toUpperCase()} `, name: 'Ann' } })]);
    expect(parsed.identities.map((identity) => `${identity.kind}:${identity.value}`).sort()).toEqual(
      [`anonymous:${ann.laptop}`, `anonymous:${ann.phone}`, `user:${ann.userId}`].sort(),
    );
    expect(parsed.consent.current).toEqual(everything);
    expect(parsed.consent.history.map((change) => change.category_preferences)).toEqual([analyticsOnly, everything]);
    expect(parsed.events.map((event) => event.event ?? event.type)).toEqual(['page', 'Consent Updated', 'identify', 'page', 'identify', 'Consent Updated', 'Article Read']);
    expect(parsed.merges).toHaveLength(1);
    expect(parsed.rejectedEvents).toHaveLength(2);
    expect(parsed.rejectedEvents.map((row) => row.payload).join('\n')).toContain('"ip":"203.0.113.0"');
    expect(JSON.stringify(parsed)).not.toContain(bob.userId);
  });

  test("forgets a person everywhere, their rejected rows included, and logs the counts only; the bystander's rows stay", async () => {
    const { ann, bob } = await journey(app);
    const customer = (await customerOf('user', ann.userId))!;
    const bobCustomer = (await customerOf('user', bob.userId))!;
    expect(await heldAbout(customer, [ann.userId, ann.laptop, ann.phone])).toEqual({ events: 7, identities: 3, customers: 1, merges: 1, rejected: 2 });

    const result = await forgetPerson(db(), { userId: ann.userId }, { channel: 'cli', actor: 'ops' });
    expect(result).toEqual({ customers: 1, events: 7, identities: 3, merges: 1, rejectedEvents: 2 });
    expect(await heldAbout(customer, [ann.userId, ann.laptop, ann.phone])).toEqual({ events: 0, identities: 0, customers: 0, merges: 0, rejected: 0 });
    expect(await heldAbout(bobCustomer, [bob.userId, bob.anonymousId])).toMatchObject({ events: 1, identities: 2, customers: 1, rejected: 1 });

    const log = await db().selectFrom('deletion_log').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(log).toMatchObject({ channel: 'cli', actor: 'ops', customers_deleted: 1, events_deleted: 7, identities_deleted: 3, merges_deleted: 1, rejected_deleted: 2 });
    for (const value of [ann.userId, ann.email, ann.laptop, customer]) expect(JSON.stringify(log)).not.toContain(value);
    expect(await findPerson(db(), { userId: ann.userId })).toBeNull();
  });

  test('a visitor who never logged in is forgotten by anonymousId, and one whose every event was refused too', async () => {
    const visitor = unique('visitor');
    await send(app, [trackEvent({ anonymousId: visitor }), { ...trackEvent({ anonymousId: visitor }), event: undefined }]);
    expect(await forgetPerson(db(), { anonymousId: visitor }, { channel: 'cli' })).toEqual({ customers: 1, events: 1, identities: 1, merges: 0, rejectedEvents: 1 });
    expect(await customerOf('anonymous', visitor)).toBeUndefined();

    const refusedOnly = unique('visitor');
    await send(app, [{ ...trackEvent({ anonymousId: refusedOnly }), event: undefined }]);
    expect(await findPerson(db(), { anonymousId: refusedOnly })).toEqual({ customers: [], rejectedEvents: 1 });
    expect(await forgetPerson(db(), { anonymousId: refusedOnly }, { channel: 'cli' })).toEqual({ customers: 0, events: 0, identities: 0, merges: 0, rejectedEvents: 1 });
    expect(await rejectedCarrying([refusedOnly])).toBe(0);
  });

  test('a forgotten userId that comes back starts a new customer with nothing of the old one', async () => {
    const { ann } = await journey(app);
    const before = await customerOf('user', ann.userId);
    await forgetPerson(db(), { userId: ann.userId }, { channel: 'cli' });
    await send(app, [trackEvent({ userId: ann.userId, anonymousId: unique('new-browser') })]);
    const after = (await customerOf('user', ann.userId))!;
    expect(after).not.toBe(before);
    expect((await db().selectFrom('customers').select('traits').where('id', '=', after).executeTakeFirstOrThrow()).traits).toEqual({});
  });

  test('nobody known: nothing deleted, nothing logged', async () => {
    const count = async () => (await db().selectFrom('deletion_log').select('id').execute()).length;
    const before = await count();
    expect(await forgetPerson(db(), { userId: unique('nobody') }, { channel: 'cli' })).toBeNull();
    expect(await exportPerson(db(), { anonymousId: unique('nobody') })).toBeNull();
    expect(await count()).toBe(before);
  });

  describe('admin API', () => {
    const admin = { Authorization: `Bearer ${testConfig.adminKey}` };
    const call = (path: string, body: unknown, headers: Record<string, string> = admin, target = app) =>
      target.request(`/v1/admin${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

    test('refuses without the admin key (401), and does not exist without one configured (404); nothing is deleted', async () => {
      const { ann } = await journey(app);
      for (const headers of [{} as Record<string, string>, { Authorization: 'Bearer wrong-key' }, { Authorization: `Basic ${Buffer.from(`${testConfig.adminKey}:`).toString('base64')}` }]) {
        const res = await call('/people/forget', { userId: ann.userId }, headers);
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
      }
      const withoutKey = testApp(database, { config: { ...testConfig, adminKey: undefined } });
      expect((await call('/people/forget', { userId: ann.userId }, admin, withoutKey)).status).toBe(404);
      expect(await customerOf('user', ann.userId)).toBeTruthy();
    });

    test('answers 400 for a body that names nobody, two people at once or a placeholder', async () => {
      for (const body of [{}, { userId: 'a', email: 'b@example.com' }, { anonymousId: 'anonymous' }, { userId: '  ' }, { email: 'not-an-address' }]) {
        const res = await call('/people/find', body);
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: 'invalid_person' } });
      }
      const notJson = await app.request('/v1/admin/people/find', { method: 'POST', headers: admin, body: '{' });
      expect(notJson.status).toBe(400);
    });

    test('finds, exports and forgets a person; 404 once forgotten', async () => {
      const { ann } = await journey(app);
      const found = await call('/people/find', { email: ann.email });
      expect(found.status).toBe(200);
      expect(await found.json()).toMatchObject({ customers: [{ user_ids: [ann.userId], events: 7 }], rejectedEvents: 2 });

      const exported = await call('/people/export', { anonymousId: ann.phone });
      expect(exported.status).toBe(200);
      expect(exported.headers.get('content-disposition')).toContain('attachment');
      expect(await exported.json()).toMatchObject({ format: 'tally-person-export/1', identities: expect.any(Array), events: expect.any(Array) });

      const forgotten = await call('/people/forget', { userId: ann.userId });
      expect(forgotten.status).toBe(200);
      expect(await forgotten.json()).toEqual({ deleted: { customers: 1, events: 7, identities: 3, merges: 1, rejectedEvents: 2 } });
      expect((await db().selectFrom('deletion_log').select('channel').orderBy('id', 'desc').executeTakeFirstOrThrow()).channel).toBe('admin_api');
      for (const path of ['/people/find', '/people/export', '/people/forget']) {
        const res = await call(path, { userId: ann.userId });
        expect(res.status).toBe(404);
        expect(await res.json()).toMatchObject({ error: { code: 'unknown_person' } });
      }
    });

    test('DELETE /customers/:userId forgets by userId', async () => {
      const { ann } = await journey(app);
      const res = await app.request(`/v1/admin/customers/${encodeURIComponent(ann.userId)}`, { method: 'DELETE', headers: admin });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ deleted: { customers: 1, events: 7, identities: 3, merges: 1, rejectedEvents: 2 } });
    });
  });

  test('the privacy command finds, exports and forgets a person in the configured database', async () => {
    const dataDir = testEngine === 'pglite' ? mkdtempSync(join(tmpdir(), 'tally-privacy-')) : undefined;
    try {
      const target: Database = dataDir ? await createDatabase({ dataDir }) : database;
      const { ann } = await journey(testApp(target as TestDatabase));
      if (dataDir) await target.close();
      const env = { ...process.env, ...(dataDir ? { TALLY_DATA_DIR: dataDir, DATABASE_URL: '' } : { DATABASE_URL: database.url! }) };
      const privacy = (...args: string[]) =>
        run(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/privacy/cli.ts', ...args], { cwd: new URL('..', import.meta.url).pathname, env });
      const failed = (promise: Promise<unknown>) => promise.then(() => ({ code: 0, stderr: '' }), (error: { code: number; stderr: string }) => error);

      const found = JSON.parse((await privacy('find', '--email', ann.email)).stdout) as { customers: { user_ids: string[] }[] };
      expect(found.customers[0]!.user_ids).toEqual([ann.userId]);
      const exported = JSON.parse((await privacy('export', '--anonymous-id', ann.laptop)).stdout) as PersonExport;
      expect(exported.events).toHaveLength(7);
      expect(exported.rejectedEvents).toHaveLength(2);
      const { stdout } = await privacy('forget', '--user-id', ann.userId);
      expect(stdout).toContain('deleted 1 customer(s), 7 event(s), 3 identities, 1 merge record(s), 2 rejected event(s)');

      const again = await failed(privacy('forget', '--user-id', ann.userId));
      expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('nothing deleted') });
      const bad = await failed(privacy('forget', '--user-id', ann.userId, '--email', ann.email));
      expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('exactly one of') });
    } finally {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
