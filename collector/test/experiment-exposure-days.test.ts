/**
 * `experiment_exposure_days` (migration 20261203T0300): kept by triggers on `events`, it always
 * equals the same rows computed from the `Experiment Viewed` events, through inserts, a merge
 * re-pointing a customer's events, a hand-made change of variant, deletes and a month's
 * partition dropped by retention; and
 * `experiment_results` over ranges that start or end within a day (read partly from the events)
 * gives what the plain computation over the events gives.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dropEventPartitionWithDays } from '../src/db/partitions.js';
import { insertEvents, type AnalyticsEvent } from './support/analytics-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

type Row = Record<string, unknown>;

/** The table's rows, and the same worked out from the events. */
async function storedAndDirect(db: Kysely<any>) {
  const stored = await sql<Row>`
    select experiment_id, customer_id::text, day::text, variant_id, first_at, last_at, variant_name
      from experiment_exposure_days order by 1, 2, 3, 4`.execute(db);
  const direct = await sql<Row>`
    select properties ->> 'experiment_id' as experiment_id, customer_id::text, ("timestamp" at time zone 'UTC')::date::text as day,
           properties ->> 'variant_id' as variant_id, min("timestamp") as first_at, max("timestamp") as last_at,
           max(properties ->> 'variant_name') as variant_name
      from events
     where event = 'Experiment Viewed' and customer_id is not null
       and properties ->> 'experiment_id' is not null and properties ->> 'variant_id' is not null
     group by 1, 2, 3, 4 order by 1, 2, 3, 4`.execute(db);
  return { stored: stored.rows, direct: direct.rows };
}

/**
 * Per variant, exposed and converted customers as docs/sql.md defines them, straight from the
 * events: each customer's exposures in [since, until), their first, the variants seen (two or
 * more: reported apart), a goal event after the first exposure and before until.
 */
async function plainResults(db: Kysely<any>, since: string, until: string) {
  return (
    await sql<Row>`
      with firsts as (
        select customer_id, min("timestamp") as first_at, min(properties ->> 'variant_id') as variant_id,
               count(distinct properties ->> 'variant_id') as variants
          from events
         where event = 'Experiment Viewed' and properties ->> 'experiment_id' = 'hero' and properties ->> 'variant_id' is not null
           and customer_id is not null and "timestamp" >= ${since}::timestamptz and "timestamp" < ${until}::timestamptz
         group by customer_id
      )
      select case when f.variants > 1 then null else f.variant_id end as variant_id, count(*)::int as customers,
             (count(*) filter (where exists (select 1 from events g where g.customer_id = f.customer_id and g.event = 'Order Completed'
                                               and g."timestamp" > f.first_at and g."timestamp" < ${until}::timestamptz)))::int as converted
        from firsts f
       group by 1
       order by 1 nulls last`.execute(db)
  ).rows;
}

const viewed = (customer: string, at: string, variant: string | null, name = `Variant ${variant}`): AnalyticsEvent => ({
  customer, at, event: 'Experiment Viewed', properties: { experiment_id: 'hero', variant_id: variant, variant_name: name },
});
const ordered = (customer: string, at: string): AnalyticsEvent => ({ customer, at, event: 'Order Completed', properties: { order_id: randomUUID(), revenue: 10 } });

describe(`experiment_exposure_days on ${testEngine}`, () => {
  let database: TestDatabase;
  const [ann, bob, cid, dee, eve] = Array.from({ length: 5 }, () => randomUUID());
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.close());

  test('inserts, from several statements and two sources, widen the day rows', async () => {
    await insertEvents(database.db, [
      viewed(ann!, '2026-07-01T09:00:00Z', 'a'), viewed(ann!, '2026-07-01T18:00:00Z', 'a', 'Variant a (new name)'),
      viewed(bob!, '2026-07-01T23:30:00Z', 'b'), ordered(bob!, '2026-07-02T00:10:00Z'),
      viewed(cid!, '2026-07-02T08:00:00Z', 'a'), ordered(cid!, '2026-07-02T07:00:00Z'), ordered(cid!, '2026-07-03T12:00:00Z'),
      // Not exposures the results count: no variant, no experiment.
      viewed(dee!, '2026-07-02T08:00:00Z', null), { customer: dee!, at: '2026-07-02T08:01:00Z', event: 'Experiment Viewed', properties: { variant_id: 'a' } },
    ]);
    await insertEvents(database.db, [viewed(ann!, '2026-07-01T06:00:00Z', 'a'), viewed(eve!, '2026-07-02T12:00:00Z', 'b'), viewed(eve!, '2026-07-03T01:00:00Z', 'a')], 'backend');
    const { stored, direct } = await storedAndDirect(database.db);
    expect(stored).toEqual(direct);
    expect(stored.filter((row) => row.customer_id === ann)).toEqual([
      { experiment_id: 'hero', customer_id: ann, day: '2026-07-01', variant_id: 'a', first_at: new Date('2026-07-01T06:00:00Z'), last_at: new Date('2026-07-01T18:00:00Z'), variant_name: 'Variant a (new name)' },
    ]);
    expect(stored).toHaveLength(5);
  });

  test('experiment_results over whole days, and over ranges that start or end within a day, equal the plain computation', async () => {
    const ranges: [string, string][] = [
      ['2026-07-01T00:00:00Z', '2026-07-04T00:00:00Z'],
      ['2026-07-01T12:00:00Z', '2026-07-03T00:30:00Z'],
      ['2026-07-01T23:00:00Z', '2026-07-02T12:00:00Z'],
      ['2026-07-02T07:30:00Z', '2026-07-02T08:30:00Z'],
      ['2026-07-02T09:00:00Z', '2026-07-03T09:00:00Z'],
    ];
    for (const [since, until] of ranges) {
      const rows = await sql<Row>`select variant_id, customers::int, converted::int from experiment_results('hero', 'Order Completed', ${since}::timestamptz, ${until}::timestamptz)`.execute(database.db);
      // Variants by id, then the row of customers seen in several (variant_id null), as the plain query sorts.
      const byVariant = [...rows.rows].sort((x, y) => (x.variant_id === null ? 1 : y.variant_id === null ? -1 : String(x.variant_id) < String(y.variant_id) ? -1 : 1));
      expect(byVariant, `${since} – ${until}`).toEqual(await plainResults(database.db, since, until));
    }
    // By hand, 1 July 12:00 to 3 July 00:30: Ann (a, 18:00), Bob (b, 23:30, ordered at 00:10),
    // Cid (a, ordered before his exposure only), Eve (b, then a at 01:00 on 3 July: outside).
    const rows = await sql<Row>`select variant_id, customers::int, converted::int from experiment_results('hero', 'Order Completed', '2026-07-01T12:00:00Z', '2026-07-03T00:30:00Z')`.execute(database.db);
    expect(rows.rows).toEqual([
      { variant_id: 'a', customers: 2, converted: 0 },
      { variant_id: 'b', customers: 2, converted: 1 },
    ]);
  });

  test('a merge re-pointing events, a changed variant and deletes are worked out again from the events that remain', async () => {
    // Cid's events move to Ann (identity stitching re-points them with an update).
    await sql`update events set customer_id = ${ann} where customer_id = ${cid}`.execute(database.db);
    let { stored, direct } = await storedAndDirect(database.db);
    expect(stored).toEqual(direct);
    expect(stored.some((row) => row.customer_id === cid)).toBe(false);
    // A variant corrected by hand, and a time moved to another day.
    await sql`update events set properties = properties || '{"variant_id": "a"}' where customer_id = ${bob} and event = 'Experiment Viewed'`.execute(database.db);
    await sql`update events set "timestamp" = '2026-07-05T10:00:00Z' where customer_id = ${eve} and event = 'Experiment Viewed' and "timestamp" = '2026-07-03T01:00:00Z'`.execute(database.db);
    ({ stored, direct } = await storedAndDirect(database.db));
    expect(stored).toEqual(direct);
    // One of Ann's three exposures of 1 July goes; then all of Eve's events.
    await sql`delete from events where customer_id = ${ann} and event = 'Experiment Viewed' and "timestamp" = '2026-07-01T18:00:00Z'`.execute(database.db);
    await sql`delete from events where customer_id = ${eve}`.execute(database.db);
    ({ stored, direct } = await storedAndDirect(database.db));
    expect(stored).toEqual(direct);
    expect(stored.filter((row) => row.customer_id === ann && row.day === '2026-07-01')).toEqual([
      expect.objectContaining({ first_at: new Date('2026-07-01T06:00:00Z'), last_at: new Date('2026-07-01T09:00:00Z'), variant_name: 'Variant a' }),
    ]);
    expect(stored.some((row) => row.customer_id === eve)).toBe(false);
  });

  test("dropping a month's partition (which fires no trigger) takes that month's rows with it", async () => {
    await insertEvents(database.db, [viewed(bob!, '2026-08-01T10:00:00Z', 'a')]);
    // July's events wait in the default partition until July has one of its own.
    await sql`select tally_create_event_partitions('2026-07-01', '2026-07-01')`.execute(database.db);
    expect(await dropEventPartitionWithDays(database.db, 'events_2026_07', '2026-07-01', '2026-08-01')).toBe(true);
    const { stored, direct } = await storedAndDirect(database.db);
    expect(stored).toEqual(direct);
    expect(stored.map((row) => row.day)).toEqual(['2026-08-01']);
  });
});
