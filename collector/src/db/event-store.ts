import { sql, type Insertable, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema/database.js';
import type { EventsTable } from './schema/events.js';

/**
 * The Postgres type of every column the collector writes into `events`. Keyed by the table
 * type, so that a column added to `EventsTable` and not listed here fails typecheck (and
 * a column listed here that the table lacks does too).
 */
const EVENT_COLUMN_TYPES = {
  message_id: 'text',
  source_id: 'text',
  type: 'text',
  event: 'text',
  name: 'text',
  anonymous_id: 'text',
  user_id: 'text',
  group_id: 'text',
  previous_id: 'text',
  customer_id: 'uuid',
  timestamp: 'timestamptz',
  original_timestamp: 'timestamptz',
  sent_at: 'timestamptz',
  received_at: 'timestamptz',
  properties: 'jsonb',
  traits: 'jsonb',
  context: 'jsonb',
  url: 'text',
  path: 'text',
  referrer: 'text',
  utm_source: 'text',
  utm_medium: 'text',
  utm_campaign: 'text',
  utm_term: 'text',
  utm_content: 'text',
  browser: 'text',
  browser_version: 'text',
  os: 'text',
  os_version: 'text',
  device_type: 'text',
  ip: 'inet',
} as const satisfies Record<Exclude<keyof Insertable<EventsTable>, 'id'>, string>;

const COLUMNS = Object.keys(EVENT_COLUMN_TYPES).map((column) => `"${column}"`);
const COLUMN_NAMES = COLUMNS.join(', ');
const COLUMN_DEFINITIONS = Object.entries(EVENT_COLUMN_TYPES)
  .map(([column, type]) => `"${column}" ${type}`)
  .join(', ');

/**
 * The events insert: stores the rows (a JSON array of `events` rows) whose
 * `(source_id, message_id)` this statement claims in the ledger `event_messages`, in the
 * order given (ids follow it), and returns them; a message stored before, in whatever month,
 * is a duplicate, and so is a second copy within the array (see the migration
 * 20261201T1000-events-by-month). `before` holds named `with` clauses to run in the same
 * statement.
 *
 * The claim is written out here rather than through `tally_claim_messages(rows)` (the path
 * for inserts by hand, docs/sql.md): that function is not inlined, walks the array as jsonb
 * a second time and re-plans on every call, which made this statement a third slower on
 * batches of 100 events (collector/README.md, "Throughput").
 *
 * @example
 * const { rows } = await insertEvents(JSON.stringify(rows)).execute(trx);
 */
export const insertEvents = (rowsJson: string, before: readonly RawBuilder<unknown>[] = []) => sql<{ source_id: string; message_id: string }>`
  with ${sql.join([
    ...before,
    sql`incoming as (
      select * from rows from (jsonb_to_recordset(${rowsJson}::jsonb) as (${sql.raw(COLUMN_DEFINITIONS)}))
        with ordinality as r(${sql.raw(COLUMN_NAMES)}, ordinality)
    )`,
    // Claimed in key order: two transactions claiming overlapping messages (a sender's
    // retry racing its first try) then wait for each other in the same order, never in a
    // deadlock, whatever the order of their batches.
    sql`claimed as (
      insert into event_messages (source_id, message_id)
      select source_id, message_id from incoming order by source_id, message_id
      on conflict (source_id, message_id) do nothing
      returning source_id, message_id
    )`,
  ])}
  insert into events (${sql.raw(COLUMN_NAMES)})
  select ${sql.raw(COLUMN_NAMES)} from (
    select distinct on (i.source_id, i.message_id) i.*
      from incoming i join claimed c on c.source_id = i.source_id and c.message_id = i.message_id
     order by i.source_id, i.message_id, i.ordinality
  ) first_copies
  order by ordinality
  returning source_id, message_id`;

/** Which events `deleteOldEvents` deletes: one source's, or those of every source but the ones named. */
export type EventSelection = { sourceId: string } | { exceptSourceIds: readonly string[] };

/**
 * Deletes up to `limit` events of `which` older than `before`, with their ledger messages,
 * in one statement; returns how many it deleted and the UTC days (`YYYY-MM-DD`) they were of.
 *
 * @example
 * const { deleted, days } = await deleteOldEvents(db, { sourceId: 'shop' }, cutoff, 10_000);
 */
export async function deleteOldEvents(
  db: Kysely<Database>,
  which: EventSelection,
  before: Date,
  limit: number,
): Promise<{ deleted: number; days: string[] }> {
  const selected = 'sourceId' in which ? sql`source_id = ${which.sourceId}` : sql`source_id <> all(${which.exceptSourceIds}::text[])`;
  const { rows } = await sql<{ n: number; days: string[] | null }>`
    with doomed as (
      select id, "timestamp" from events where ${selected} and "timestamp" < ${before} limit ${limit}
    ),
    gone as (
      delete from events e using doomed d
       where e.id = d.id and e."timestamp" = d."timestamp" and e."timestamp" < ${before}
      returning e.source_id, e.message_id, (e."timestamp" at time zone 'UTC')::date as day
    ),
    released as (
      delete from event_messages m using gone g where m.source_id = g.source_id and m.message_id = g.message_id
    )
    select count(*) as n, array_agg(distinct day::text order by day::text) as days from gone`.execute(db);
  return { deleted: Number(rows[0]?.n ?? 0), days: rows[0]?.days ?? [] };
}
