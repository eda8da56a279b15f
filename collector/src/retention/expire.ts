import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema/database.js';
import { isoDate, listEventPartitions, type EventPartition } from './partitions.js';

/** A source as retention sees it: its id and how many days its events are kept (none: forever). */
export interface SourceRetention {
  id: string;
  retentionDays?: number | undefined;
}

export interface EventExpiry {
  /** Monthly partitions dropped whole. */
  droppedPartitions: string[];
  /** Events deleted row by row (shorter periods, the default partition). */
  deletedEvents: number;
}

export interface RowBudget {
  /** Rows one statement deletes. */
  batchSize?: number;
  /** Statements per source and run: a run deletes at most batchSize × maxBatches rows per source. */
  maxBatches?: number;
}

const DAY_MS = 86_400_000;

/**
 * Expires events by their source's `retentionDays`, as of `now`.
 *
 * The sources share the monthly partitions, so the workspace's longest period (when every
 * source has one) decides which months are dropped whole: a month goes once its last instant
 * is older than that period, so those events stay at most a month past it. A source with a
 * shorter period has its older events deleted row by row, at most `batchSize × maxBatches`
 * rows per run (the roll-up follows through the delete triggers). Rows in `events_default`
 * (late or far-off timestamps) are deleted row by row once past their source's period.
 * Events of a source no longer configured follow the longest period; with a source that keeps
 * events forever, no month is dropped.
 *
 * Dropping a partition fires no trigger, so the month's `customer_event_days` rows and its
 * messages in the `event_messages` ledger go with it: together, while `events` is locked.
 *
 * @example
 * await expireEvents(database.db, [{ id: 'shop', retentionDays: 395 }], new Date());
 */
export async function expireEvents(
  db: Kysely<Database>,
  sources: readonly SourceRetention[],
  now: Date,
  budget: RowBudget = {},
): Promise<EventExpiry> {
  const result: EventExpiry = { droppedPartitions: [], deletedEvents: 0 };
  if (sources.length === 0) return result;
  const periods = sources.map((source) => source.retentionDays);
  const longest = periods.every((days): days is number => days !== undefined) ? Math.max(...periods) : undefined;
  const cutoffOf = (days: number) => new Date(now.getTime() - days * DAY_MS);

  let partitions = await listEventPartitions(db);
  if (longest !== undefined) {
    const cutoff = cutoffOf(longest);
    for (const partition of partitions.filter((p) => p.to.getTime() <= cutoff.getTime())) {
      if (await dropEventPartition(db, partition)) result.droppedPartitions.push(partition.name);
    }
    partitions = partitions.filter((p) => p.to.getTime() > cutoff.getTime());
  }
  // Below the oldest monthly partition, only events_default holds rows.
  const floor = partitions[0]?.from;
  const belowPartitions = (instant: Date) => (floor && floor.getTime() < instant.getTime() ? floor : instant);

  for (const source of sources) {
    if (source.retentionDays === undefined) continue;
    const cutoff = cutoffOf(source.retentionDays);
    const before = longest !== undefined && source.retentionDays === longest ? belowPartitions(cutoff) : cutoff;
    result.deletedEvents += await deleteEvents(db, sql`source_id = ${source.id}`, before, budget);
  }
  if (longest !== undefined) {
    const known = sources.map((source) => source.id);
    result.deletedEvents += await deleteEvents(db, sql`source_id <> all(${known}::text[])`, belowPartitions(cutoffOf(longest)), budget);
  }
  return result;
}

/**
 * Drops one monthly partition with the roll-up rows of its days and its ledger messages.
 * The bulk of both is deleted first without blocking writers; then, with `events` locked,
 * what arrived meanwhile and the partition itself. Returns false when another collector
 * dropped it first.
 */
export async function dropEventPartition(db: Kysely<Database>, partition: EventPartition): Promise<boolean> {
  const table = sql.table(partition.name);
  const from = isoDate(partition.from);
  const to = isoDate(partition.to);
  const exists = async (q: Kysely<Database>) =>
    (await sql<{ name: string | null }>`select to_regclass(${partition.name})::text as name`.execute(q)).rows[0]?.name != null;
  if (!(await exists(db))) return false;

  const { rows } = await sql<{ max: number | null }>`select max(id) as max from ${table}`.execute(db);
  const watermark = rows[0]?.max ?? 0;
  await sql`delete from event_messages m using ${table} e where m.source_id = e.source_id and m.message_id = e.message_id`.execute(db);
  await sql`delete from customer_event_days where day >= ${from}::date and day < ${to}::date`.execute(db);

  return db.transaction().execute(async (trx) => {
    // Writers wait for the drop rather than fail; a long reader makes this run give up and
    // the next run try again, rather than hold every writer behind it.
    await sql`set local lock_timeout = '10s'`.execute(trx);
    await sql`lock table events in access exclusive mode`.execute(trx);
    if (!(await exists(trx))) return false;
    await sql`delete from event_messages m using ${table} e
               where e.id > ${watermark} and m.source_id = e.source_id and m.message_id = e.message_id`.execute(trx);
    // Late events of these days, and rows stitching re-pointed since the first pass.
    await sql`delete from customer_event_days where day >= ${from}::date and day < ${to}::date`.execute(trx);
    await sql`drop table ${table}`.execute(trx);
    return true;
  });
}

/** Deletes events matching `which` older than `before`, with their ledger messages, in bounded batches. */
async function deleteEvents(db: Kysely<Database>, which: RawBuilder<unknown>, before: Date, budget: RowBudget): Promise<number> {
  const batchSize = budget.batchSize ?? 10_000;
  const maxBatches = budget.maxBatches ?? 10;
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const { rows } = await sql<{ n: number }>`
      with doomed as (
        select id, "timestamp" from events where ${which} and "timestamp" < ${before} limit ${batchSize}
      ),
      gone as (
        delete from events e using doomed d
         where e.id = d.id and e."timestamp" = d."timestamp" and e."timestamp" < ${before}
        returning e.source_id, e.message_id
      ),
      released as (
        delete from event_messages m using gone g where m.source_id = g.source_id and m.message_id = g.message_id
      )
      select count(*) as n from gone`.execute(db);
    const n = Number(rows[0]?.n ?? 0);
    deleted += n;
    if (n < batchSize) break;
  }
  return deleted;
}

/**
 * Deletes `rejected_events` rows received more than `days` days before `now`, at most
 * `batchSize × maxBatches` per run.
 *
 * @example
 * await expireRejectedEvents(database.db, 30, new Date());
 */
export async function expireRejectedEvents(db: Kysely<Database>, days: number, now: Date, budget: RowBudget = {}): Promise<number> {
  const batchSize = budget.batchSize ?? 10_000;
  const maxBatches = budget.maxBatches ?? 10;
  const before = new Date(now.getTime() - days * DAY_MS);
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await sql`
      delete from rejected_events where id in (
        select id from rejected_events where received_at < ${before} order by received_at limit ${batchSize})`.execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    deleted += n;
    if (n < batchSize) break;
  }
  return deleted;
}
