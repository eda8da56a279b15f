import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDatabase, type Database } from '../src/db/database.js';
import { MergeUndoError, undoMerge } from '../src/identity/merge-undo.js';
import { testApp, testConfig } from './support/collector-app.js';
import { customerOfIdentity, customersOf, writeBatch } from './support/identity-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const run = promisify(execFile);

describe(`undoing a merge on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = testApp(database);
  });
  afterAll(() => database.close());
  const db = () => database.db;

  const admin = { Authorization: `Bearer ${testConfig.adminKey}` };
  const undoCall = (id: number | string, headers: Record<string, string> = admin, target = app) =>
    target.request(`/v1/admin/merges/${id}/undo`, { method: 'POST', headers });

  const customerRow = (id: string) =>
    db()
      .selectFrom('customers')
      .select(['traits', 'trait_timestamps', 'trait_sources', 'first_seen_at', 'last_seen_at', 'identified_at'])
      .where('id', '=', id)
      .executeTakeFirst();
  const mergeFrom = async (from: string) =>
    Number((await db().selectFrom('identity_merges').select('id').where('from_customer_id', '=', from).orderBy('id', 'desc').executeTakeFirstOrThrow()).id);

  /**
   * A known user (plan 'pro'), and an anonymous visitor who browsed, said their plan was
   * 'free' and their colour 'red' (anonymous identify), then logged in as the user: the
   * identify merges the anonymous customer into the user's.
   */
  async function identifyMerge() {
    const userId = unique('user');
    const anonymousId = unique('anon');
    const device = unique('device');
    await writeBatch(db(), [{ type: 'identify', userId, anonymousId: device, at: 0, traits: { plan: 'pro', email: `${userId}@example.com` } }]);
    const userCustomer = (await customerOfIdentity(db(), 'user', userId))!;
    const anonymousEvents = await writeBatch(db(), [
      { type: 'page', anonymousId, at: 1 },
      { type: 'page', anonymousId, at: 2 },
      { type: 'identify', anonymousId, at: 3, traits: { plan: 'free', colour: 'red' } },
    ]);
    const anonymousCustomer = (await customerOfIdentity(db(), 'anonymous', anonymousId))!;
    const anonymousBefore = await customerRow(anonymousCustomer);
    const userBefore = await customerRow(userCustomer);
    const [loginEvent] = await writeBatch(db(), [{ type: 'identify', anonymousId, userId, at: 4 }]);
    expect(await customerOfIdentity(db(), 'anonymous', anonymousId)).toBe(userCustomer);
    expect(await customersOf(db(), anonymousEvents)).toEqual([userCustomer, userCustomer, userCustomer]);
    expect((await customerRow(userCustomer))!.traits).toMatchObject({ plan: 'free', colour: 'red' });
    return { userId, anonymousId, userCustomer, anonymousCustomer, anonymousBefore, userBefore, anonymousEvents, loginEvent: loginEvent!, merge: await mergeFrom(anonymousCustomer) };
  }

  test('an identify merge undone through the admin API restores the anonymous customer, its identities, traits and events, and is recorded', async () => {
    const m = await identifyMerge();
    const res = await undoCall(m.merge);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      undone: { mergeId: m.merge, restoredCustomerId: m.anonymousCustomer, survivorId: m.userCustomer, identitiesMoved: 1, eventsMoved: 3 },
    });

    expect(await customerRow(m.anonymousCustomer)).toEqual(m.anonymousBefore);
    expect(await customerOfIdentity(db(), 'anonymous', m.anonymousId)).toBe(m.anonymousCustomer);
    expect(await customersOf(db(), m.anonymousEvents)).toEqual([m.anonymousCustomer, m.anonymousCustomer, m.anonymousCustomer]);
    // The login itself was the user's event: it stays with them, as do their own identities and traits.
    expect(await customersOf(db(), [m.loginEvent])).toEqual([m.userCustomer]);
    expect(await customerOfIdentity(db(), 'user', m.userId)).toBe(m.userCustomer);
    const user = (await customerRow(m.userCustomer))!;
    expect(user.traits).toEqual(m.userBefore!.traits);
    expect(user.trait_timestamps).toEqual(m.userBefore!.trait_timestamps);
    expect(user.first_seen_at).toEqual(m.userBefore!.first_seen_at);

    const recorded = await db().selectFrom('identity_merge_undos').selectAll().where('merge_id', '=', m.merge).executeTakeFirstOrThrow();
    expect(recorded).toMatchObject({ channel: 'admin_api', identities_moved: 1, events_moved: 3 });
  });

  test('an alias merge of two known customers undone restores the merged customer with its userId, traits and events', async () => {
    const older = unique('older');
    const newer = unique('newer');
    const olderEvents = await writeBatch(db(), [
      { type: 'identify', userId: older, at: 0, traits: { name: 'Old Name', tier: 'gold' } },
      { userId: older, at: 1 },
    ]);
    const newerEvents = await writeBatch(db(), [
      { type: 'identify', userId: newer, at: 2, traits: { name: 'Kim' } },
      { userId: newer, at: 3 },
    ]);
    // The older account's name is set again later, so that it wins the merge.
    olderEvents.push(...(await writeBatch(db(), [{ type: 'identify', userId: older, at: 5, traits: { name: 'Kim Older' } }])));
    const olderCustomer = (await customerOfIdentity(db(), 'user', older))!;
    const newerCustomer = (await customerOfIdentity(db(), 'user', newer))!;
    const olderBefore = await customerRow(olderCustomer);
    const newerBefore = await customerRow(newerCustomer);
    await writeBatch(db(), [{ type: 'alias', userId: newer, previousId: older, at: 6 }], 'server');
    expect(await customerOfIdentity(db(), 'user', older)).toBe(newerCustomer);
    expect((await customerRow(newerCustomer))!).toMatchObject({ traits: { name: 'Kim Older', tier: 'gold' }, identified_at: olderBefore!.identified_at });

    const undo = await undoMerge(db(), await mergeFrom(olderCustomer), { channel: 'cli', actor: 'ops' });
    expect(undo).toMatchObject({ restoredCustomerId: olderCustomer, identitiesMoved: 1, eventsMoved: 3 });
    expect(await customerRow(olderCustomer)).toEqual(olderBefore);
    expect(await customerOfIdentity(db(), 'user', older)).toBe(olderCustomer);
    expect(await customersOf(db(), olderEvents)).toEqual(olderEvents.map(() => olderCustomer));
    expect(await customersOf(db(), newerEvents)).toEqual(newerEvents.map(() => newerCustomer));
    const newerNow = (await customerRow(newerCustomer))!;
    expect(newerNow.traits).toEqual(newerBefore!.traits);
    expect(newerNow.identified_at).toEqual(newerBefore!.identified_at);
    expect(newerNow.first_seen_at).toEqual(newerBefore!.first_seen_at);
  });

  test('an undo is refused while a later merge depends on it, naming that merge; undone in reverse order both succeed', async () => {
    const m = await identifyMerge();
    const other = unique('other');
    await writeBatch(db(), [{ type: 'identify', userId: other, at: 0 }]);
    const otherCustomer = (await customerOfIdentity(db(), 'user', other))!;
    // The user is merged on into another account: the anonymous visitor's events move with them.
    await writeBatch(db(), [{ type: 'alias', userId: other, previousId: m.userId, at: 10 }], 'server');
    const later = await mergeFrom(m.userCustomer);
    expect(await customersOf(db(), m.anonymousEvents)).toEqual(m.anonymousEvents.map(() => otherCustomer));

    const refused = await undoCall(m.merge);
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as { error: { code: string; message: string; laterMergeId: number } };
    expect(body.error).toMatchObject({ code: 'later_merge', laterMergeId: later });
    expect(body.error.message).toContain(`undo merge ${later} first`);
    expect(await db().selectFrom('customers').select('id').where('id', '=', m.anonymousCustomer).executeTakeFirst()).toBeUndefined();

    expect((await undoCall(later)).status).toBe(200);
    expect(await customersOf(db(), m.anonymousEvents)).toEqual(m.anonymousEvents.map(() => m.userCustomer));
    expect((await undoCall(m.merge)).status).toBe(200);
    expect(await customersOf(db(), m.anonymousEvents)).toEqual(m.anonymousEvents.map(() => m.anonymousCustomer));
    expect(await customerOfIdentity(db(), 'user', m.userId)).toBe(m.userCustomer);
  });

  test('two merges chained in one batch are each undone: every customer gets its own events back', async () => {
    const anonymousId = unique('anon');
    const first = unique('first');
    const second = unique('second');
    const anonymousEvents = await writeBatch(db(), [{ type: 'page', anonymousId, at: 0 }]);
    const firstEvents = await writeBatch(db(), [{ type: 'identify', userId: first, at: 1 }]);
    const secondEvents = await writeBatch(db(), [{ type: 'identify', userId: second, at: 2 }]);
    const [anonymousCustomer, firstCustomer, secondCustomer] = await Promise.all([
      customerOfIdentity(db(), 'anonymous', anonymousId),
      customerOfIdentity(db(), 'user', first),
      customerOfIdentity(db(), 'user', second),
    ]);
    // One request of a server source: the visitor logs in as first, then first is aliased to second.
    await writeBatch(db(), [
      { type: 'identify', anonymousId, userId: first, at: 3 },
      { type: 'alias', userId: second, previousId: first, at: 4 },
    ], 'server');
    expect(await customersOf(db(), [...anonymousEvents, ...firstEvents])).toEqual([secondCustomer, secondCustomer]);

    expect((await undoCall(await mergeFrom(anonymousCustomer!))).status).toBe(200);
    expect((await undoCall(await mergeFrom(firstCustomer!))).status).toBe(200);
    expect(await customersOf(db(), anonymousEvents)).toEqual([anonymousCustomer]);
    expect(await customersOf(db(), firstEvents)).toEqual([firstCustomer]);
    expect(await customersOf(db(), secondEvents)).toEqual([secondCustomer]);
    expect(await customerOfIdentity(db(), 'user', first)).toBe(firstCustomer);
  });

  test('undoing a merge twice is refused and changes nothing', async () => {
    const m = await identifyMerge();
    await undoMerge(db(), m.merge, { channel: 'cli' });
    const again = await undoCall(m.merge);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'already_undone' } });
    await expect(undoMerge(db(), m.merge, { channel: 'cli' })).rejects.toThrow(MergeUndoError);
    expect(await db().selectFrom('identity_merge_undos').select('merge_id').where('merge_id', '=', m.merge).execute()).toHaveLength(1);
    expect(await customersOf(db(), m.anonymousEvents)).toEqual(m.anonymousEvents.map(() => m.anonymousCustomer));
  });

  test('the undo API refuses without the admin key (401) and does not exist without one configured (404); the merge stays', async () => {
    const m = await identifyMerge();
    for (const headers of [{} as Record<string, string>, { Authorization: 'Bearer wrong-key' }]) {
      const res = await undoCall(m.merge, headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    const withoutKey = testApp(database, { config: { ...testConfig, adminKey: undefined } });
    expect((await undoCall(m.merge, admin, withoutKey)).status).toBe(404);
    expect(await customerOfIdentity(db(), 'anonymous', m.anonymousId)).toBe(m.userCustomer);
    expect(await db().selectFrom('identity_merge_undos').select('merge_id').where('merge_id', '=', m.merge).execute()).toHaveLength(0);
  });

  test('answers 404 for no such merge, 400 for an id that is not one, 409 for a re-link, which moved no customer', async () => {
    const missing = await undoCall(999_999_999);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'unknown_merge' } });
    expect((await undoCall('abc')).status).toBe(400);

    // A shared browser: a second user logs in on a device the first one used.
    const device = unique('shared');
    await writeBatch(db(), [{ type: 'identify', anonymousId: device, userId: unique('first'), at: 0 }]);
    const firstCustomer = (await customerOfIdentity(db(), 'anonymous', device))!;
    await writeBatch(db(), [{ type: 'identify', anonymousId: device, userId: unique('second'), at: 1 }]);
    const relink = await db().selectFrom('identity_merges').select(['id', 'reason']).where('from_customer_id', '=', firstCustomer).executeTakeFirstOrThrow();
    expect(relink.reason).toBe('anonymous_id_relinked');
    const res = await undoCall(Number(relink.id));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: 'not_reversible' } });
  });

  test('the identity command lists a person\'s merges and undoes one in the configured database', async () => {
    const dataDir = testEngine === 'pglite' ? mkdtempSync(join(tmpdir(), 'tally-identity-')) : undefined;
    try {
      const target: Database = dataDir ? await createDatabase({ dataDir }) : database;
      const userId = unique('cli-user');
      const anonymousId = unique('cli-anon');
      await writeBatch(target.db, [{ type: 'identify', userId, at: 0 }]);
      const anonymousEvents = await writeBatch(target.db, [{ type: 'page', anonymousId, at: 1 }]);
      const anonymousCustomer = (await customerOfIdentity(target.db, 'anonymous', anonymousId))!;
      await writeBatch(target.db, [{ type: 'identify', anonymousId, userId, at: 2 }]);
      if (dataDir) await target.close();
      const env = { ...process.env, ...(dataDir ? { TALLY_DATA_DIR: dataDir, DATABASE_URL: '' } : { DATABASE_URL: database.url! }) };
      const identity = (...args: string[]) =>
        run(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/identity/cli.ts', ...args], { cwd: new URL('..', import.meta.url).pathname, env });
      const failed = (promise: Promise<unknown>) => promise.then(() => ({ code: 0, stderr: '' }), (error: { code: number; stderr: string }) => error);

      const merges = JSON.parse((await identity('merges', '--user-id', userId)).stdout) as { id: number; from_customer_id: string; reversible: boolean; events_moved: number }[];
      expect(merges).toEqual([expect.objectContaining({ from_customer_id: anonymousCustomer, reason: 'identify', reversible: true, events_moved: 1, undone_at: null })]);
      const { stdout } = await identity('undo-merge', String(merges[0]!.id));
      expect(stdout).toContain(`customer ${anonymousCustomer} is back with 1 identity and 1 event(s)`);
      expect(await failed(identity('undo-merge', String(merges[0]!.id)))).toMatchObject({ code: 1, stderr: expect.stringContaining('was undone at') });
      expect(await failed(identity('undo-merge', 'x'))).toMatchObject({ code: 2 });

      const after: Database = dataDir ? await createDatabase({ dataDir }) : database;
      expect(await customersOf(after.db, anonymousEvents)).toEqual([anonymousCustomer]);
      expect((await after.db.selectFrom('identity_merge_undos').select('channel').where('merge_id', '=', merges[0]!.id).executeTakeFirstOrThrow()).channel).toBe('cli');
      if (dataDir) await after.close();
    } finally {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
