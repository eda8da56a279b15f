import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../src/db/schema/database.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IDENTITY_LOCK_SLOTS, IDENTITY_LOCKS_PER_BATCH } from '../src/identity/graph-lock.js';
import { lockAndReadIdentities } from '../src/db/identity-store.js';
import { writeFlush } from '../src/db/flush-writer.js';
import { stitchBatch } from '../src/identity/stitch.js';
import { backend, basic, postJson, testApp } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

/** The lock slot of an anonymousId, as `tally_lock_and_read_identities` computes it. */
async function slotOf(db: Kysely<Database>, value: string): Promise<number> {
  const { rows } = await sql<{ slot: number }>`
    select (abs(hashtextextended('anonymous:' || ${value}, 0)) % ${IDENTITY_LOCK_SLOTS.count})::integer as slot`.execute(db);
  return rows[0]!.slot;
}

/** Two anonymousIds that hash onto the same lock slot. */
async function sameSlotPair(db: Kysely<Database>, run: string): Promise<[string, string]> {
  const bySlot = new Map<number, string>();
  for (let n = 0; ; n++) {
    const value = `anon-${run}-${n}`;
    const slot = await slotOf(db, value);
    const other = bySlot.get(slot);
    if (other !== undefined) return [other, value];
    bySlot.set(slot, value);
  }
}

// Stitching locks identities through advisory locks, which live in Postgres's shared lock
// table: they must stay bounded however large the batch.
describe(`identity locks per transaction on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ poolSize: 8 });
  });
  afterAll(() => database.close());

  test('four concurrent requests of 1,999 aliases each from a server source are all stored, their customers merged', async () => {
    const app = testApp(database);
    const run = randomUUID().slice(0, 8);
    const request = (r: number) => ({
      batch: Array.from({ length: 1_999 }, (_, i) => ({
        type: 'alias',
        messageId: `alias-${run}-${r}-${i}`,
        anonymousId: `device-${run}-${r}-${i}`,
        userId: `new-${run}-${r}-${i}`,
        previousId: `old-${run}-${r}-${i}`,
        timestamp: new Date().toISOString(),
      })),
    });
    const responses = await Promise.all([0, 1, 2, 3].map((r) => postJson(app, '/v1/batch', request(r), { authorization: basic(backend.writeKey) })));
    expect(responses.map((res) => res.status)).toEqual([200, 200, 200, 200]);
    for (const res of responses) expect(await res.json()).toEqual({ accepted: 1_999, duplicates: 0, rejected: [] });
    const { rows } = await sql<{ events: number; identities: number }>`
      select (select count(*) from events where message_id like ${`alias-${run}-%`}) as events,
        (select count(*) from identities where value like ${`%-${run}-%`}) as identities`.execute(database.db);
    expect(rows[0]).toEqual({ events: 4 * 1_999, identities: 3 * 4 * 1_999 });
    const { rows: pairs } = await sql<{ separate: number }>`
      select count(*) as separate from identities n join identities o
        on o.kind = 'user' and o.value = replace(n.value, 'new-', 'old-')
      where n.kind = 'user' and n.value like ${`new-${run}-%`} and n.customer_id <> o.customer_id`.execute(database.db);
    expect(pairs[0]!.separate).toBe(0);
  });

  test(`a transaction holds at most ${2 * IDENTITY_LOCKS_PER_BATCH + 1} advisory locks, whatever the size of its batch`, async () => {
    const run = randomUUID().slice(0, 8);
    const events = Array.from({ length: 6_000 }, (_, i) => ({
      source_id: 'web',
      source_kind: 'server' as const,
      message_id: `m-${run}-${i}`,
      type: i % 3 === 0 ? 'alias' : 'identify',
      anonymous_id: `anon-${run}-${i}`,
      user_id: `user-${run}-${i}`,
      previous_id: i % 3 === 0 ? `user-${run}-${i + 1}` : null,
      timestamp: new Date(),
      traits: {},
    }));
    const held = await database.db.transaction().execute(async (trx) => {
      await writeFlush(trx, { stitch: await stitchBatch(trx, events), events: [], rejected: [] });
      const { rows } = await sql<{ n: number }>`
        select count(*) as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()`.execute(trx);
      return rows[0]!.n;
    });
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(2 * IDENTITY_LOCKS_PER_BATCH + 1);
  });

  test('a batch of a few identities holds the graph lock and their slots shared, and one exclusive lock per identity', async () => {
    const run = randomUUID().slice(0, 8);
    const [a, b] = await sameSlotPair(database.db, run);
    const refs = [a, b, `anon-${run}-other`].map((value) => ({ kind: 'anonymous' as const, value }));
    const slots = new Set(await Promise.all(refs.map((ref) => slotOf(database.db, ref.value))));
    const locks = await database.db.transaction().execute(async (trx) => {
      await lockAndReadIdentities(trx, refs, false);
      const { rows } = await sql<{ mode: string; form: number; n: number }>`
        select mode, objsubid as form, count(*) as n from pg_locks
        where locktype = 'advisory' and pid = pg_backend_pid() group by 1, 2 order by 1, 2`.execute(trx);
      return rows.map((row) => ({ mode: row.mode, form: Number(row.form), n: Number(row.n) }));
    });
    // The graph lock and each distinct slot shared (two-int form), one exclusive lock per identity (bigint form).
    expect(locks).toEqual([
      { mode: 'ExclusiveLock', form: 1, n: 3 },
      { mode: 'ShareLock', form: 2, n: 1 + slots.size },
    ]);
  });
});

// Two batches at once need two sessions; the embedded engine has one, whose transactions run
// one after another.
if (testEngine === 'postgres') {
  describe('identity locks between concurrent transactions on postgres', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase({ poolSize: 4 });
    });
    afterAll(() => database.close());

    test('a batch whose identity merely shares a lock slot with a batch in flight does not wait for it; one sharing the identity does', async () => {
      const [held, neighbour] = await sameSlotPair(database.db, randomUUID().slice(0, 8));
      const ref = (value: string) => [{ kind: 'anonymous' as const, value }];

      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const first = database.db.transaction().execute(async (trx) => {
        await lockAndReadIdentities(trx, ref(held), false);
        locked();
        await released;
      });
      await isLocked;
      // While the first transaction holds its locks: a lock that is not free fails at once.
      const attempt = (value: string) =>
        database.db.transaction().execute(async (trx) => {
          await sql`set local lock_timeout = '50ms'`.execute(trx);
          await lockAndReadIdentities(trx, ref(value), false);
          return 'locked';
        });
      try {
        await expect(attempt(neighbour)).resolves.toBe('locked');
        await expect(attempt(held)).rejects.toMatchObject({ code: '55P03' });
      } finally {
        release();
        await first;
      }
    });
  });
}
