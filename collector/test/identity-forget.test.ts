import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDatabase } from '../src/db/database.js';
import { forgetCustomer } from '../src/identity/forget.js';
import { forgetRoutes } from '../src/routes/forget.js';
import { customerOfIdentity, customersOf, writeBatch } from './support/identity-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const run = promisify(execFile);

describe(`right to be forgotten on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());
  const db = () => database.db;

  /** A customer with two devices (one merged in), traits, and a bystander who must survive. */
  const journey = async () => {
    const u = unique('user');
    const bystander = unique('user');
    const [laptop, phone] = [unique('anon'), unique('anon')];
    await writeBatch(db(), [{ type: 'page', anonymousId: laptop, at: 0 }]);
    await writeBatch(db(), [{ type: 'identify', anonymousId: laptop, userId: u, at: 1, traits: { email: 'ann@example.com' } }]);
    await writeBatch(db(), [{ type: 'page', anonymousId: phone, at: 2 }]);
    await writeBatch(db(), [{ type: 'identify', anonymousId: phone, userId: u, at: 3 }]);
    const kept = await writeBatch(db(), [{ type: 'identify', anonymousId: unique('anon'), userId: bystander, at: 4, traits: { email: 'bob@example.com' } }]);
    return { u, bystander, laptop, phone, customer: (await customerOfIdentity(db(), 'user', u))!, kept };
  };

  const countFor = async (customer: string) => ({
    events: (await db().selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('customer_id', '=', customer).executeTakeFirstOrThrow()).n,
    identities: (await db().selectFrom('identities').select((eb) => eb.fn.countAll<number>().as('n')).where('customer_id', '=', customer).executeTakeFirstOrThrow()).n,
    customers: (await db().selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('n')).where('id', '=', customer).executeTakeFirstOrThrow()).n,
    merges: (
      await db()
        .selectFrom('identity_merges')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where((eb) => eb.or([eb('from_customer_id', '=', customer), eb('into_customer_id', '=', customer)]))
        .executeTakeFirstOrThrow()
    ).n,
  });

  test("forgetCustomer deletes the customer's events, identities, traits and merges, and logs only that it happened", async () => {
    const { u, customer, kept, phone } = await journey();
    expect(await countFor(customer)).toEqual({ events: 4, identities: 3, customers: 1, merges: 1 });
    const result = await forgetCustomer(db(), { userId: u, channel: 'cli', actor: 'ops' });
    expect(result).toEqual({ customers: 1, events: 4, identities: 3, merges: 1 });
    expect(await countFor(customer)).toEqual({ events: 0, identities: 0, customers: 0, merges: 0 });
    expect(await customerOfIdentity(db(), 'anonymous', phone)).toBeUndefined();
    const [bystanderCustomer] = await customersOf(db(), kept);
    expect((await db().selectFrom('customers').select('traits').where('id', '=', bystanderCustomer!).executeTakeFirst())?.traits).toEqual({
      email: 'bob@example.com',
    });

    const log = await db().selectFrom('deletion_log').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(log).toMatchObject({ channel: 'cli', actor: 'ops', customers_deleted: 1, events_deleted: 4, identities_deleted: 3, merges_deleted: 1 });
    expect(JSON.stringify(log)).not.toContain(u);
    expect(JSON.stringify(log)).not.toContain(customer);
  });

  test('a forgotten userId that comes back starts a new customer with nothing of the old one', async () => {
    const { u, customer } = await journey();
    await forgetCustomer(db(), { userId: u, channel: 'cli' });
    const [again] = await writeBatch(db(), [{ type: 'track', userId: u, at: 10 }]);
    const [newCustomer] = await customersOf(db(), [again!]);
    expect(newCustomer).not.toBe(customer);
    expect((await db().selectFrom('customers').select('traits').where('id', '=', newCustomer!).executeTakeFirst())?.traits).toEqual({});
  });

  test('an unknown userId deletes nothing and logs nothing', async () => {
    const before = await db().selectFrom('deletion_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(await forgetCustomer(db(), { userId: unique('nobody'), channel: 'cli' })).toBeNull();
    const after = await db().selectFrom('deletion_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  test('a userId sent by two sources is one customer: forgetting it deletes the events of both', async () => {
    const u = unique('user');
    await writeBatch(db(), [
      { type: 'identify', userId: u, sourceId: 'web', at: 0 },
      { type: 'identify', userId: u, sourceId: 'ios', at: 0 },
    ]);
    expect(await forgetCustomer(db(), { userId: u, channel: 'cli' })).toMatchObject({ customers: 1, events: 2 });
    expect(await customerOfIdentity(db(), 'user', u)).toBeUndefined();
    expect(await db().selectFrom('events').select('id').where('user_id', '=', u).execute()).toEqual([]);
  });

  describe('admin endpoint', () => {
    const adminKey = 'admin-secret-key';
    const app = () => forgetRoutes({ database, adminKey });

    test('refuses without the admin key (401) and deletes nothing', async () => {
      const { u, customer } = await journey();
      for (const authorization of [undefined, 'Bearer wrong-key', `Basic ${Buffer.from(`${adminKey}:`).toString('base64')}`]) {
        const res = await app().request(`/customers/${u}`, { method: 'DELETE', headers: authorization ? { Authorization: authorization } : {} });
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
      }
      expect((await countFor(customer)).customers).toBe(1);
    });

    test('with the admin key deletes the customer and answers the counts', async () => {
      const { u, customer } = await journey();
      const res = await app().request(`/customers/${encodeURIComponent(u)}`, { method: 'DELETE', headers: { Authorization: `Bearer ${adminKey}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ deleted: { customers: 1, events: 4, identities: 3, merges: 1 } });
      expect(await countFor(customer)).toEqual({ events: 0, identities: 0, customers: 0, merges: 0 });
      const log = await db().selectFrom('deletion_log').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
      expect(log.channel).toBe('admin_api');
    });

    test('answers 404 for an unknown userId, and when no admin key is configured', async () => {
      const unknown = await app().request(`/customers/${unique('nobody')}`, { method: 'DELETE', headers: { Authorization: `Bearer ${adminKey}` } });
      expect(unknown.status).toBe(404);
      const { u, customer } = await journey();
      const disabled = forgetRoutes({ database, adminKey: undefined });
      const res = await disabled.request(`/customers/${u}`, { method: 'DELETE', headers: { Authorization: 'Bearer undefined' } });
      expect(res.status).toBe(404);
      expect((await countFor(customer)).customers).toBe(1);
    });
  });

  test('the forget command deletes a customer from the configured database and says what it did', async () => {
    const u = unique('user');
    const dataDir = testEngine === 'pglite' ? mkdtempSync(join(tmpdir(), 'tally-forget-')) : undefined;
    try {
      const target = dataDir ? await createDatabase({ dataDir }) : database;
      await writeBatch(target.db, [
        { type: 'page', anonymousId: unique('anon'), userId: u, at: 0 },
        { type: 'track', userId: u, at: 1 },
      ]);
      if (dataDir) await target.close();
      const env = { ...process.env, ...(dataDir ? { TALLY_DATA_DIR: dataDir, DATABASE_URL: '' } : { DATABASE_URL: database.url! }) };
      const { stdout } = await run(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/identity/forget-cli.ts', u], {
        cwd: new URL('..', import.meta.url).pathname,
        env,
      });
      expect(stdout).toContain('deleted 1 customer(s), 2 event(s), 2 identities');
      const missing = await run(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/identity/forget-cli.ts', u], {
        cwd: new URL('..', import.meta.url).pathname,
        env,
      }).catch((error: { code: number; stderr: string }) => error);
      expect(missing).toMatchObject({ code: 1 });
      expect((missing as { stderr: string }).stderr).toContain('nothing deleted');
    } finally {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
