import { randomUUID } from 'node:crypto';
import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrateToLatest } from '../src/db/migrate.js';
import { migrations } from '../src/db/migrations/index.js';
import { customerOfIdentity, customersOf, writeBatch } from './support/identity-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

// Data written by the per-source schema (identities keyed by kind, source and value), then
// migrated to workspace identities.
describe(`the workspace-identities migration on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());
  const db = () => database.db;

  const at = (minutes: number) => new Date(Date.parse('2026-10-01T12:00:00Z') + minutes * 60_000).toISOString();
  const customer = (id: string, identifiedAt: number | null, firstSeen: number, lastSeen: number, traits: Record<string, [unknown, number]> = {}) => ({
    id,
    traits: JSON.stringify(Object.fromEntries(Object.entries(traits).map(([k, [v]]) => [k, v]))),
    trait_timestamps: JSON.stringify(Object.fromEntries(Object.entries(traits).map(([k, [, t]]) => [k, at(t)]))),
    first_seen_at: at(firstSeen),
    last_seen_at: at(lastSeen),
    identified_at: identifiedAt === null ? null : at(identifiedAt),
  });
  const identity = (kind: 'anonymous' | 'user', source: string, value: string, customerId: string, firstSeen: number, lastSeen: number) => ({
    kind,
    source_id: source,
    value,
    customer_id: customerId,
    first_seen_at: at(firstSeen),
    last_seen_at: at(lastSeen),
  });
  const event = (source: string, customerId: string, minutes: number) => ({
    message_id: randomUUID(),
    source_id: source,
    type: 'track',
    event: 'Seen',
    customer_id: customerId,
    timestamp: at(minutes),
    received_at: at(minutes),
  });

  test('merges the customers of one value stored for several sources, re-points their events, and records why', async () => {
    const migrator = new Migrator({ db: db(), provider: { getMigrations: async () => migrations } });
    const down = await migrator.migrateTo('20261123T1200-customer-event-days');
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => r.migrationName)).toContain('20261201T1200-workspace-identities');

    const [webAnn, iosAnn, webBob, appCid, webAnon, appDan, untouched] = Array.from({ length: 7 }, () => randomUUID());
    // The old shape, written as the per-source schema stored it.
    await db()
      .insertInto('customers')
      .values([
        // Ann: one userId on the website and in the iOS app, two customers.
        customer(webAnn!, 1, 0, 10, { plan: ['free', 1], colour: ['red', 1] }),
        customer(iosAnn!, 5, 4, 20, { plan: ['pro', 6], email: ['ann@example.com', 6] }),
        // One device seen by two sources, identified as two different people: never merged.
        customer(webBob!, 2, 2, 30),
        customer(appCid!, 3, 3, 40),
        // One device seen by two sources: anonymous on the website, Dan in the app.
        customer(webAnon!, null, 0, 5),
        customer(appDan!, 6, 6, 9),
        customer(untouched!, null, 1, 1),
      ] as never)
      .execute();
    await db()
      .insertInto('identities')
      .values([
        identity('user', 'web', 'ann', webAnn!, 1, 10),
        identity('anonymous', 'web', 'ann-laptop', webAnn!, 0, 10),
        identity('user', 'ios', 'ann', iosAnn!, 5, 20),
        identity('anonymous', 'ios', 'ann-phone', iosAnn!, 4, 20),
        identity('user', 'web', 'bob', webBob!, 2, 30),
        identity('anonymous', 'web', 'shared-device', webBob!, 2, 30),
        identity('user', 'app', 'cid', appCid!, 3, 40),
        identity('anonymous', 'app', 'shared-device', appCid!, 3, 40),
        identity('anonymous', 'web', 'dan-device', webAnon!, 0, 5),
        identity('anonymous', 'app', 'dan-device', appDan!, 6, 9),
        identity('user', 'app', 'dan', appDan!, 6, 9),
        identity('anonymous', 'web', 'solo', untouched!, 1, 1),
      ] as never)
      .execute();
    const events = [event('web', webAnn!, 1), event('ios', iosAnn!, 5), event('ios', iosAnn!, 6), event('web', webAnon!, 0), event('app', appDan!, 7)];
    await db().insertInto('events').values(events).execute();

    expect(await migrateToLatest(db())).toContain('20261201T1200-workspace-identities');

    // Ann: one identity, one customer (the one identified first), every event, the newer traits.
    expect(await customerOfIdentity(db(), 'user', 'ann')).toBe(webAnn);
    expect(await customerOfIdentity(db(), 'anonymous', 'ann-phone')).toBe(webAnn);
    expect(await customersOf(db(), events.slice(0, 3).map((e) => e.message_id))).toEqual([webAnn, webAnn, webAnn]);
    const ann = await db().selectFrom('customers').selectAll().where('id', '=', webAnn!).executeTakeFirstOrThrow();
    expect(ann.traits).toEqual({ plan: 'pro', colour: 'red', email: 'ann@example.com' });
    expect(ann.first_seen_at.toISOString()).toBe(at(0));
    expect(ann.last_seen_at.toISOString()).toBe(at(20));
    const annRow = await db().selectFrom('identities').selectAll().where('kind', '=', 'user').where('value', '=', 'ann').execute();
    expect(annRow).toMatchObject([{ source_id: 'web' }]);
    expect(annRow[0]!.last_seen_at.toISOString()).toBe(at(20));

    // The shared device follows the one who used it last; Bob and Cid stay two customers.
    expect(await customerOfIdentity(db(), 'anonymous', 'shared-device')).toBe(appCid);
    expect(await customerOfIdentity(db(), 'user', 'bob')).toBe(webBob);

    // The device anonymous on the website is Dan's: merged into him with its events.
    expect(await customerOfIdentity(db(), 'anonymous', 'dan-device')).toBe(appDan);
    expect(await customersOf(db(), [events[3]!.message_id, events[4]!.message_id])).toEqual([appDan, appDan]);
    expect(await customerOfIdentity(db(), 'anonymous', 'solo')).toBe(untouched);

    const remaining = await db().selectFrom('customers').select('id').where('id', 'in', [iosAnn!, webAnon!]).execute();
    expect(remaining).toEqual([]);
    const merges = await db()
      .selectFrom('identity_merges')
      .select(['from_customer_id', 'into_customer_id', 'reason', 'source_id', 'message_id'])
      .orderBy('reason')
      .orderBy('from_customer_id')
      .execute();
    expect(merges).toEqual(
      [
        { from_customer_id: webBob, into_customer_id: appCid, reason: 'anonymous_id_relinked', source_id: 'web' },
        { from_customer_id: iosAnn, into_customer_id: webAnn, reason: 'workspace_identity', source_id: 'ios' },
        { from_customer_id: webAnon, into_customer_id: appDan, reason: 'workspace_identity', source_id: 'web' },
      ]
        .map((m) => ({ ...m, message_id: 'migration:20261201T1200-workspace-identities' }))
        .sort((a, b) => a.reason.localeCompare(b.reason) || a.from_customer_id!.localeCompare(b.from_customer_id!)),
    );

    // One identity per value from now on, whichever source sends it.
    await expect(db().insertInto('identities').values(identity('user', 'other', 'ann', webAnn!, 30, 30) as never).execute()).rejects.toThrow();
    const [later] = await writeBatch(db(), [{ type: 'track', userId: 'ann', sourceId: 'crm', at: 60 * 24 * 40 }]);
    expect(await customersOf(db(), [later!])).toEqual([webAnn]);
  });
});
