import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IDENTITY_LOCK_SLOTS } from '../src/identity/graph-lock.js';
import { writeFlush } from '../src/db/flush-writer.js';
import { stitchBatch } from '../src/identity/stitch.js';
import { backend, basic, postJson, testApp } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

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

  test(`a transaction holds at most ${IDENTITY_LOCK_SLOTS.count + 1} advisory locks, whatever the size of its batch`, async () => {
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
    expect(held).toBeLessThanOrEqual(IDENTITY_LOCK_SLOTS.count + 1);
  });
});
