import { sql, type Kysely } from 'kysely';
import type { Database } from './schema/database.js';

/**
 * Creates the monthly partitions of `events` from the month starting on `firstMonth` to the
 * one starting on `lastMonth` (ISO dates), if missing; rows waiting for them in
 * `events_default` move in. Returns how many it created.
 *
 * @example
 * await createEventPartitions(db, '2026-12-01', '2027-02-01');
 */
export async function createEventPartitions(db: Kysely<Database>, firstMonth: string, lastMonth: string): Promise<number> {
  const { rows } = await sql<{ created: number }>`
    select tally_create_event_partitions(${firstMonth}::date, ${lastMonth}::date) as created`.execute(db);
  return Number(rows[0]?.created ?? 0);
}

/** The names of every partition of `events`, the default one included, in no order. */
export async function eventPartitionNames(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'events'::regclass`.execute(db);
  return rows.map((row) => row.name);
}

/**
 * The tables that hold a row per customer and day, each indexed by day: the triggers' day
 * tables and the refreshed roll-ups. Their rows of a day go with that day's events, so that no
 * customer id outlives the retention of the events it was read from. The roll-ups' counts
 * without customer ids (`daily_event_counts`, `daily_session_counts`, `daily_referrer_counts`,
 * `daily_utm_source_counts`) are not personal data and are kept.
 */
const CUSTOMER_DAY_TABLES = [
  'customer_event_days',
  'experiment_exposure_days',
  'customer_days',
  'customer_page_days',
  'referrer_customer_days',
  'utm_source_customer_days',
] as const;

/**
 * Drops the partition `name` of `events` holding the days from `fromDay` up to `toDay`
 * (ISO dates, exclusive), with the rows of those days in every table of customers per day
 * (`CUSTOMER_DAY_TABLES`), the campaign touches of those days (`customer_campaign_touches`)
 * and its messages in the `event_messages` ledger (dropping fires no trigger). The bulk of both is deleted
 * first without blocking writers; then, with `events` locked, what arrived meanwhile and the
 * partition itself. Returns false when it no longer exists (another collector dropped it).
 *
 * @example
 * await dropEventPartitionWithDays(db, 'events_2025_10', '2025-10-01', '2025-11-01');
 */
export async function dropEventPartitionWithDays(db: Kysely<Database>, name: string, fromDay: string, toDay: string): Promise<boolean> {
  const table = sql.table(name);
  const exists = async (q: Kysely<Database>) => (await sql<{ name: string | null }>`select to_regclass(${name})::text as name`.execute(q)).rows[0]?.name != null;
  if (!(await exists(db))) return false;

  const { rows } = await sql<{ max: number | null }>`select max(id) as max from ${table}`.execute(db);
  const watermark = rows[0]?.max ?? 0;
  await sql`delete from event_messages m using ${table} e where m.source_id = e.source_id and m.message_id = e.message_id`.execute(db);
  await deleteCustomerDays(db, fromDay, toDay);

  return db.transaction().execute(async (trx) => {
    // Writers wait for the drop rather than fail; a long reader makes this run give up and
    // the next run try again, rather than hold every writer behind it.
    await sql`set local lock_timeout = '10s'`.execute(trx);
    await sql`lock table events in access exclusive mode`.execute(trx);
    if (!(await exists(trx))) return false;
    await sql`delete from event_messages m using ${table} e
               where e.id > ${watermark} and m.source_id = e.source_id and m.message_id = e.message_id`.execute(trx);
    // Late events of these days, and rows stitching re-pointed since the first pass.
    await deleteCustomerDays(trx, fromDay, toDay);
    await sql`drop table ${table}`.execute(trx);
    return true;
  });
}

async function deleteCustomerDays(db: Kysely<Database>, fromDay: string, toDay: string): Promise<void> {
  for (const table of CUSTOMER_DAY_TABLES) {
    await sql`delete from ${sql.table(table)} where day >= ${fromDay}::date and day < ${toDay}::date`.execute(db);
  }
  // A month's touches are found through their time's BRIN index (they are stored in time order).
  await sql`delete from customer_campaign_touches
             where "timestamp" >= ${fromDay}::date::timestamp at time zone 'UTC' and "timestamp" < ${toDay}::date::timestamp at time zone 'UTC'`.execute(db);
}
