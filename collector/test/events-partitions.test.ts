import { randomUUID } from 'node:crypto';
import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrateToLatest } from '../src/db/migrate.js';
import { migrations } from '../src/db/migrations/index.js';
import type { Database } from '../src/db/schema/database.js';
import { insertEvents } from '../src/db/event-store.js';
import { ensureEventPartitions, listEventPartitions } from '../src/retention/index.js';
import { basic, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const partitionOf = async (db: Kysely<Database>, messageId: string) =>
  (await sql<{ partition: string }>`select tableoid::regclass::text as partition from events where message_id = ${messageId}`.execute(db)).rows.map(
    (r) => r.partition,
  );

const rollUpMatchesEvents = async (db: Kysely<Database>) => {
  const { rows } = await sql<{ n: number }>`
    select count(*) as n from (
      (select event, customer_id, day, first_at, last_at from customer_event_days
       except all
       select event, customer_id, ("timestamp" at time zone 'UTC')::date, min("timestamp"), max("timestamp")
         from events where event is not null and customer_id is not null group by 1, 2, 3)
      union all
      (select event, customer_id, ("timestamp" at time zone 'UTC')::date, min("timestamp"), max("timestamp")
         from events where event is not null and customer_id is not null group by 1, 2, 3
       except all
       select event, customer_id, day, first_at, last_at from customer_event_days)) difference`.execute(db);
  return rows[0]?.n === 0;
};

describe(`events partitioned by month on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test('events is partitioned by month of its timestamp, with a default partition for months that have none', async () => {
    const { rows } = await sql<{ strategy: string; key: string }>`
      select partstrat as strategy, pg_get_partkeydef('events'::regclass) as key from pg_partitioned_table where partrelid = 'events'::regclass`.execute(database.db);
    expect(rows).toEqual([{ strategy: 'r', key: 'RANGE ("timestamp")' }]);
    await ensureEventPartitions(database.db, new Date('2025-03-10T00:00:00Z'));
    const names = (await listEventPartitions(database.db)).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['events_2025_03', 'events_2025_04', 'events_2025_05']));
    const defaults = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
       where i.inhparent = 'events'::regclass and pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'`.execute(database.db);
    expect(defaults.rows).toEqual([{ name: 'events_default' }]);
  });

  test('the collector stores each event in its month, and one from a month without a partition in the default one', async () => {
    const app = testApp(database);
    const march = trackEvent({ timestamp: '2025-03-31T23:59:59.000Z' });
    const old = trackEvent({ timestamp: '1999-06-01T10:00:00.000Z' });
    const res = await postJson(app, '/v1/batch', { batch: [march, old] }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(await partitionOf(database.db, march.messageId as string)).toEqual(['events_2025_03']);
    expect(await partitionOf(database.db, old.messageId as string)).toEqual(['events_default']);
  });

  test('the same messageId retried across a month boundary is stored once', async () => {
    const app = testApp(database);
    const first = trackEvent({ timestamp: '2025-03-31T23:59:59.000Z' });
    // The retry carries another timestamp (a client that stamps at send time): it falls in
    // April's partition, where a unique index of March's could not see it.
    const retry = { ...first, timestamp: '2025-04-01T00:00:01.000Z' };
    const one = await postJson(app, '/v1/batch', { batch: [first] }, { authorization: basic(shop.writeKey) });
    expect(await one.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    const two = await postJson(app, '/v1/batch', { batch: [retry] }, { authorization: basic(shop.writeKey) });
    expect(await two.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await partitionOf(database.db, first.messageId as string)).toEqual(['events_2025_03']);
    const ledger = await database.db.selectFrom('event_messages').selectAll().where('message_id', '=', first.messageId as string).execute();
    expect(ledger).toEqual([{ source_id: shop.id, message_id: first.messageId }]);
  });

  test('the same messageId in two concurrent batches across a month boundary is stored once', async () => {
    const app = testApp(database);
    const first = trackEvent({ timestamp: '2025-04-30T23:59:59.000Z' });
    const retry = { ...first, timestamp: '2025-05-01T00:00:01.000Z' };
    const answers = await Promise.all(
      [first, retry, first, retry].map(async (event) =>
        (await postJson(app, '/v1/batch', { batch: [event] }, { authorization: basic(shop.writeKey) })).json() as Promise<{ accepted: number }>,
      ),
    );
    expect(answers.reduce((n, a) => n + a.accepted, 0)).toBe(1);
    expect((await partitionOf(database.db, first.messageId as string)).length).toBe(1);
  });

  test('events of a batch are stored in the order sent, and a messageId repeated in one insert is stored once', async () => {
    const base = randomUUID();
    const ids = ['c', 'a', 'd', 'b'].map((letter) => `${letter}-${base}`);
    const rows = [...ids, ids[1]!].map((messageId, i) => ({
      message_id: messageId, source_id: shop.id, type: 'track', event: `Step ${i}`, timestamp: '2025-03-02T10:00:00Z',
      received_at: '2025-03-02T10:00:00Z', properties: {}, traits: {}, context: {},
    }));
    const stored = await database.db.transaction().execute((trx) => insertEvents(JSON.stringify(rows)).execute(trx));
    expect(stored.rows.map((r) => r.message_id)).toEqual(ids);
    const inOrder = await database.db.selectFrom('events').select(['message_id', 'event']).where('message_id', 'in', ids).orderBy('id').execute();
    expect(inOrder).toEqual(ids.map((messageId, i) => ({ message_id: messageId, event: `Step ${i}` })));
  });

  test('a partition created for a month whose events waited in the default partition takes them in, roll-up unchanged', async () => {
    const app = testApp(database);
    const customerEvent = trackEvent({ timestamp: '2024-07-04T12:00:00.000Z', userId: `waiting-${randomUUID()}` });
    // No partition for July 2024 (say the collector was stopped for months).
    await postJson(app, '/v1/batch', { batch: [customerEvent] }, { authorization: basic(shop.writeKey) });
    expect(await partitionOf(database.db, customerEvent.messageId as string)).toEqual(['events_default']);
    expect(await rollUpMatchesEvents(database.db)).toBe(true);
    await ensureEventPartitions(database.db, new Date('2024-07-05T00:00:00Z'));
    expect(await partitionOf(database.db, customerEvent.messageId as string)).toEqual(['events_2024_07']);
    expect(await rollUpMatchesEvents(database.db)).toBe(true);
  });
});

describe(`the events-by-month migration on ${testEngine}`, () => {
  let database: TestDatabase;
  const before = Object.keys(migrations).filter((name) => name < '20261201T1000-events-by-month').at(-1)!;
  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(() => database.close());

  test('converts a table written by the old schema: rows, ids, roll-up, views and exactly-once carry over', async () => {
    const db = database.db;
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo(before)).error).toBeUndefined();

    // Written as the old writer wrote: uniqueness from the index on (source_id, message_id).
    const customer = randomUUID();
    const rows = [
      { message_id: 'old-1', event: 'Product Viewed', at: '2026-06-30T23:00:00Z', email: 'ann@example.com' },
      { message_id: 'old-2', event: 'Order Completed', at: '2026-07-01T01:00:00Z', email: null },
      { message_id: 'old-3', event: 'Product Viewed', at: '2001-01-01T00:00:00Z', email: null },
    ];
    await sql`
      insert into events (message_id, source_id, type, event, customer_id, "timestamp", received_at, traits)
      select r.message_id, ${shop.id}, 'track', r.event, ${customer}::uuid, r.at, r.at,
             case when r.email is null then '{}'::jsonb else jsonb_build_object('email', r.email) end
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(message_id text, event text, at timestamptz, email text)
      on conflict (source_id, message_id) do nothing`.execute(db);
    const oldIds = (await sql<{ message_id: string; id: number }>`select message_id, id from events order by id`.execute(db)).rows;
    const profileBefore = (await sql`select * from customer_profiles where customer_id = ${customer}`.execute(db)).rows;

    expect(await migrateToLatest(db)).toContain('20261201T1000-events-by-month');

    expect((await sql<{ message_id: string; id: number }>`select message_id, id from events order by id`.execute(db)).rows).toEqual(oldIds);
    expect(await partitionOf(db, 'old-1')).toEqual(['events_2026_06']);
    expect(await partitionOf(db, 'old-2')).toEqual(['events_2026_07']);
    // Far-off timestamps (more than ten years back) wait in the default partition.
    expect(await partitionOf(db, 'old-3')).toEqual(['events_default']);
    expect(await rollUpMatchesEvents(db)).toBe(true);
    // Later migrations may add columns to the profile; every column it had keeps its value.
    expect((await sql`select * from customer_profiles where customer_id = ${customer}`.execute(db)).rows).toEqual(
      profileBefore.map((row) => expect.objectContaining(row)),
    );
    const funnel = await sql<{ customers: number }>`
      select customers from funnel(array['Product Viewed', 'Order Completed'], '2026-06-30', '2026-07-02', '1 day')`.execute(db);
    expect(funnel.rows.map((r) => r.customers)).toEqual([1, 1]);

    // Every index the funnel and the collector use is there, on the partitioned table.
    const indexes = (await sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'events'`.execute(db)).rows.map((r) => r.name);
    expect(indexes).toEqual(
      expect.arrayContaining([
        'events_pkey',
        'events_source_message_id',
        'events_event_timestamp',
        'events_customer_timestamp',
        'events_event_customer_timestamp',
        'events_customer_campaign',
      ]),
    );

    // A message stored by the old schema, retried now in another month, stays a duplicate;
    // new events get fresh ids after the old ones.
    const app = testApp(database);
    const retry = trackEvent({ messageId: 'old-1', timestamp: '2026-08-01T00:00:00.000Z' });
    const fresh = trackEvent({ timestamp: '2026-07-02T00:00:00.000Z' });
    const res = await postJson(app, '/v1/batch', { batch: [retry, fresh] }, { authorization: basic(shop.writeKey) });
    expect(await res.json()).toMatchObject({ accepted: 1, duplicates: 1 });
    const freshId = (await sql<{ id: number }>`select id from events where message_id = ${fresh.messageId as string}`.execute(db)).rows[0]!.id;
    expect(freshId).toBeGreaterThan(Math.max(...oldIds.map((r) => r.id)));
  });
});
