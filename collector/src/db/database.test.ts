import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, testEngine, type TestDatabase } from '../../test/support/test-database.js';

describe(`database on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test('migrations create the events table with its funnel indexes and message-id uniqueness', async () => {
    const { rows } = await sql<{ indexname: string }>`
      select indexname from pg_indexes where tablename = 'events' order by indexname`.execute(database.db);
    // Later migrations may add indexes of their own; these four the collector relies on.
    expect(rows.map((r) => r.indexname)).toEqual(
      expect.arrayContaining(['events_customer_timestamp', 'events_event_timestamp', 'events_pkey', 'events_source_message_id']),
    );
  });

  test('counts and sums come back as numbers on every engine', async () => {
    const { rows } = await sql<{ n: number; s: number }>`select count(*) as n, sum(1.5::numeric) as s from generate_series(1, 3)`.execute(database.db);
    expect(rows[0]).toEqual({ n: 3, s: 4.5 });
  });

  test('a transaction holds its statements together while other queries wait their turn', async () => {
    const inserts = Array.from({ length: 10 }, (_, i) =>
      database.db.transaction().execute(async (trx) => {
        await trx.insertInto('rejected_events').values({ reason: 'test', payload: String(i), errors: '[]' }).execute();
        if (i % 2 === 1) throw new Error('roll back the odd ones');
      }).catch(() => undefined),
    );
    await Promise.all(inserts);
    const rows = await database.db.selectFrom('rejected_events').select('payload').where('reason', '=', 'test').orderBy('payload').execute();
    expect(rows.map((r) => r.payload)).toEqual(['0', '2', '4', '6', '8']);
  });

  test('ping answers true while the database is open', async () => {
    expect(await database.ping()).toBe(true);
  });
});
