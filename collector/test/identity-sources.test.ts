import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backend, basic, postJson, shop, testApp, testConfig, verifiedApp } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

// Workspace identities and trusted sources (docs/design.md §3 rules 8), over HTTP through the
// collector's routes and writer, reading the tables.
describe(`identities across sources, and what each source may claim, on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database);
  });
  afterAll(() => database.close());
  const db = () => database.db;

  const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
  const message = <T extends Record<string, unknown>>(fields: T) => ({ messageId: randomUUID(), timestamp: new Date().toISOString(), ...fields });
  const send = async (writeKey: string, path: string, body: unknown) => {
    const res = await postJson(app, path, body, { authorization: basic(writeKey) });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      accepted: number;
      rejected: { index: number; messageId: string; reason: string; message: string }[];
      identityRefused?: { index: number; messageId: string; reason: string; message: string }[];
    };
  };
  const userHash = (userId: string) => createHmac('sha256', verifiedApp.identitySecret!).update(userId).digest('hex');
  const customerOfUser = async (userId: string) =>
    (await db().selectFrom('identities').select('customer_id').where('kind', '=', 'user').where('value', '=', userId).executeTakeFirst())?.customer_id;
  const customerOfAnonymous = async (anonymousId: string) =>
    (await db().selectFrom('identities').select('customer_id').where('kind', '=', 'anonymous').where('value', '=', anonymousId).executeTakeFirst())
      ?.customer_id;
  const eventsOf = (customerId: string) =>
    db().selectFrom('events').select(['message_id', 'source_id', 'type']).where('customer_id', '=', customerId).orderBy('message_id').execute();
  const customer = (id: string) => db().selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const metric = async (line: string) => {
    const text = await (await app.request('/metrics')).text();
    return Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ').pop() ?? 0);
  };

  test('one userId sent by the website, the app and a server is one customer with every event', async () => {
    const userId = unique('user');
    const web = message({ type: 'identify', anonymousId: unique('browser'), userId, traits: { plan: 'free' } });
    const webPage = message({ type: 'page', anonymousId: web.anonymousId });
    const app1 = message({ type: 'identify', anonymousId: unique('phone'), userId, context: { userHash: userHash(userId) } });
    const server = message({ type: 'track', event: 'Order Completed', userId, properties: { order_id: unique('order'), revenue: 30 } });
    await send(shop.writeKey, '/v1/batch', { batch: [webPage, web] });
    await send(verifiedApp.writeKey, '/v1/identify', app1);
    await send(backend.writeKey, '/v1/track', server);

    const person = await customerOfUser(userId);
    expect(person).toBeTruthy();
    expect(await customerOfAnonymous(web.anonymousId as string)).toBe(person);
    expect(await customerOfAnonymous(app1.anonymousId as string)).toBe(person);
    const events = await eventsOf(person!);
    expect(events.map((e) => e.message_id).sort()).toEqual([web, webPage, app1, server].map((m) => m.messageId).sort());
    expect(new Set(events.map((e) => e.source_id))).toEqual(new Set(['shop', 'app', 'backend']));
    const identities = await db().selectFrom('identities').select(['kind', 'value']).where('customer_id', '=', person!).execute();
    expect(identities).toHaveLength(3);
  });

  test('the newest value of each trait wins, with the source and kind that set it; the profile shows every trait', async () => {
    const userId = unique('user');
    await send(shop.writeKey, '/v1/identify', message({ type: 'identify', anonymousId: unique('a'), userId, traits: { plan: 'free', colour: 'red' }, timestamp: '2026-11-01T10:00:00Z' }));
    await send(backend.writeKey, '/v1/identify', message({ type: 'identify', userId, traits: { plan: 'pro', company: 'Acme' }, timestamp: '2026-11-01T11:00:00Z' }));
    await send(shop.writeKey, '/v1/identify', message({ type: 'identify', anonymousId: unique('a'), userId, traits: { colour: 'blue' }, timestamp: '2026-11-01T12:00:00Z' }));
    const row = await customer((await customerOfUser(userId))!);
    expect(row.traits).toEqual({ plan: 'pro', colour: 'blue', company: 'Acme' });
    expect(row.trait_sources).toEqual({
      plan: { source_id: 'backend', kind: 'server' },
      colour: { source_id: 'shop', kind: 'client' },
      company: { source_id: 'backend', kind: 'server' },
    });
    const profile = await db().selectFrom('customer_profiles' as never).selectAll().where('customer_id' as never, '=', row.id as never).executeTakeFirstOrThrow() as Record<string, unknown>;
    expect(profile.traits).toEqual({ plan: 'pro', colour: 'blue', company: 'Acme' });
    expect(profile.trait_sources).toEqual(row.trait_sources);
  });

  test('a client source never overwrites a trait a server source set, even with a newer identify', async () => {
    const userId = unique('user');
    await send(backend.writeKey, '/v1/identify', message({ type: 'identify', userId, traits: { email: 'ann@example.com' }, timestamp: '2026-11-01T10:00:00Z' }));
    await send(shop.writeKey, '/v1/identify', message({ type: 'identify', anonymousId: unique('a'), userId, traits: { email: 'eve@evil.example', nickname: 'Ann' }, timestamp: '2026-11-01T12:00:00Z' }));
    const row = await customer((await customerOfUser(userId))!);
    expect(row.traits).toEqual({ email: 'ann@example.com', nickname: 'Ann' });
    expect(row.trait_sources).toMatchObject({ email: { source_id: 'backend', kind: 'server' } });
  });

  test('alias from a client source is refused with its reason, kept in rejected_events and counted; it merges nothing', async () => {
    const before = await metric('tally_identity_refused_total{source="shop",reason="alias_from_client"}');
    const older = unique('older');
    const newer = unique('newer');
    await send(backend.writeKey, '/v1/batch', { batch: [message({ type: 'identify', userId: older }), message({ type: 'identify', userId: newer })] });
    const alias = message({ type: 'alias', userId: newer, previousId: older });
    const body = await send(shop.writeKey, '/v1/alias', alias);
    expect(body.accepted).toBe(0);
    expect(body.rejected).toEqual([
      { index: 0, messageId: alias.messageId, reason: 'alias_from_client', message: expect.stringContaining('accepted only from a server source') },
    ]);
    const stored = await db().selectFrom('rejected_events').select(['reason', 'source_id']).where('message_id', '=', alias.messageId).execute();
    expect(stored).toEqual([{ reason: 'alias_from_client', source_id: 'shop' }]);
    expect(await customerOfUser(older)).not.toBe(await customerOfUser(newer));
    expect(await metric('tally_identity_refused_total{source="shop",reason="alias_from_client"}')).toBe(before + 1);
  });

  describe('the takeover sequence from a public key: identify as the victim, alias to the attacker, forget the attacker', () => {
    const admin = { authorization: `Bearer ${testConfig.adminKey}` };

    /** The victim as the shop's server knows them, with a few events. */
    const victimJourney = async () => {
      const victim = unique('victim');
      const device = unique('victim-browser');
      await send(shop.writeKey, '/v1/batch', {
        batch: [message({ type: 'page', anonymousId: device }), message({ type: 'identify', anonymousId: device, userId: victim, traits: { nickname: 'V' } })],
      });
      await send(backend.writeKey, '/v1/batch', {
        batch: [
          message({ type: 'identify', userId: victim, traits: { email: 'victim@example.com', name: 'Victoria' } }),
          message({ type: 'track', event: 'Order Completed', userId: victim, properties: { order_id: unique('o'), revenue: 120 } }),
        ],
      });
      const customerId = (await customerOfUser(victim))!;
      return { victim, customerId, traits: (await customer(customerId)).traits, events: await eventsOf(customerId) };
    };

    const attack = async (writeKey: string, victim: string) => {
      const attacker = unique('attacker');
      const attackerBrowser = unique('attacker-browser');
      const identify = await send(
        writeKey,
        '/v1/identify',
        message({ type: 'identify', anonymousId: attackerBrowser, userId: victim, traits: { email: 'attacker@evil.example', name: 'Mallory' } }),
      );
      const alias = await send(writeKey, '/v1/alias', message({ type: 'alias', anonymousId: attackerBrowser, userId: attacker, previousId: victim }));
      const forget = await app.request(`/v1/admin/customers/${attacker}`, { method: 'DELETE', headers: admin });
      return { attacker, attackerBrowser, identify, alias, forget };
    };

    test('from a client source: the victim keeps the traits their server set and every event; the alias is refused; forgetting the attacker deletes only their refused alias', async () => {
      const before = await victimJourney();
      const { attacker, identify, alias, forget } = await attack(shop.writeKey, before.victim);
      expect(identify.accepted).toBe(1);
      expect(alias.rejected).toMatchObject([{ reason: 'alias_from_client' }]);
      // Forgetting the attacker removes only what Tally holds of the attacker: the refused alias.
      expect(forget.status).toBe(200);
      expect(await forget.json()).toEqual({ deleted: { customers: 0, identities: 0, events: 0, merges: 0, rejectedEvents: 1 } });
      expect(await customerOfUser(attacker)).toBeUndefined();
      expect(await customerOfUser(before.victim)).toBe(before.customerId);
      const after = await customer(before.customerId);
      expect(after.traits).toMatchObject({ email: 'victim@example.com', name: 'Victoria' });
      const events = await eventsOf(before.customerId);
      expect(events).toEqual(expect.arrayContaining(before.events));
      const merges = await db().selectFrom('identity_merges').select('reason').where('from_customer_id', '=', before.customerId).execute();
      expect(merges).toEqual([]);
    });

    test('from a source requiring verified userIds: the unsigned identify links nothing, the alias is refused, the victim is untouched', async () => {
      const before = await victimJourney();
      const { attacker, attackerBrowser, identify, alias, forget } = await attack(verifiedApp.writeKey, before.victim);
      expect(identify.identityRefused).toEqual([
        { index: 0, messageId: expect.any(String), reason: 'unverified_user', message: expect.stringContaining('has no context.userHash') },
      ]);
      expect(alias.rejected).toMatchObject([{ reason: 'alias_from_client' }]);
      // Forgetting the attacker removes only what Tally holds of the attacker: the refused alias.
      expect(forget.status).toBe(200);
      expect(await forget.json()).toEqual({ deleted: { customers: 0, identities: 0, events: 0, merges: 0, rejectedEvents: 1 } });
      expect(await customerOfUser(attacker)).toBeUndefined();
      const attackerCustomer = await customerOfAnonymous(attackerBrowser);
      expect(attackerCustomer).toBeTruthy();
      expect(attackerCustomer).not.toBe(before.customerId);
      const stored = await db().selectFrom('events').select(['user_id', 'customer_id']).where('anonymous_id', '=', attackerBrowser).execute();
      expect(stored).toEqual([{ user_id: null, customer_id: attackerCustomer }]);
      expect((await customer(before.customerId)).traits).toEqual(before.traits);
      expect(await eventsOf(before.customerId)).toEqual(before.events);
    });
  });

  describe('identity verification (context.userHash)', () => {
    test('a correctly signed userId links; a wrong hash is stored anonymous-only and counted; no anonymousId is refused', async () => {
      const before = await metric('tally_identity_refused_total{source="app",reason="unverified_user"}');
      const userId = unique('user');
      const signed = message({ type: 'identify', anonymousId: unique('phone'), userId, context: { userHash: userHash(userId).toUpperCase() } });
      const wrong = message({ type: 'track', event: 'Viewed', anonymousId: unique('phone'), userId, context: { userHash: userHash(`${userId}x`) } });
      const bare = message({ type: 'track', event: 'Viewed', userId });
      const body = await send(verifiedApp.writeKey, '/v1/batch', { batch: [signed, wrong, bare] });
      expect(body.accepted).toBe(2);
      expect(body.identityRefused).toEqual([{ index: 1, messageId: wrong.messageId, reason: 'unverified_user', message: expect.stringContaining('does not match') }]);
      expect(body.rejected).toEqual([{ index: 2, messageId: bare.messageId, reason: 'unverified_user', message: expect.stringContaining('no anonymousId') }]);
      const person = await customerOfUser(userId);
      expect(await customerOfAnonymous(signed.anonymousId as string)).toBe(person);
      expect(await customerOfAnonymous(wrong.anonymousId as string)).not.toBe(person);
      const wrongRow = await db().selectFrom('events').select('user_id').where('message_id', '=', wrong.messageId).executeTakeFirstOrThrow();
      expect(wrongRow.user_id).toBeNull();
      expect(await metric('tally_identity_refused_total{source="app",reason="unverified_user"}')).toBe(before + 2);
    });
  });
});
