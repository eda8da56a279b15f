import type { Kysely } from 'kysely';
import { deleteOldEvents, type EventSelection } from '../db/event-store.js';
import { dropEventPartitionWithDays } from '../db/partitions.js';
import { deleteRejectedBefore } from '../db/rejected-store.js';
import type { Database } from '../db/schema/database.js';
import { isoDate, listEventPartitions, type EventPartition } from './partitions.js';
import { refreshDailyRollups, type RollupRefresh } from './rollups.js';

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
  /**
   * The UTC days whose events were deleted row by row, whose daily roll-ups were then
   * recomputed, so that the roll-ups' customer ids go with the events they were read from.
   * (A dropped month takes its roll-up rows with it: `dropEventPartitionWithDays`.)
   */
  refreshedDays: string[];
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
  const result: EventExpiry = { droppedPartitions: [], deletedEvents: 0, refreshedDays: [] };
  const days = new Set<string>();
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
    result.deletedEvents += await deleteEvents(db, { sourceId: source.id }, before, budget, days);
  }
  if (longest !== undefined) {
    const known = sources.map((source) => source.id);
    result.deletedEvents += await deleteEvents(db, { exceptSourceIds: known }, belowPartitions(cutoffOf(longest)), budget, days);
  }
  result.refreshedDays = [...days].sort();
  for (const run of consecutiveRuns(result.refreshedDays)) await refreshDailyRollups(db, run);
  return result;
}

/**
 * Drops one monthly partition with the roll-up rows of its days and its ledger messages.
 * The bulk of both is deleted first without blocking writers; then, with `events` locked,
 * what arrived meanwhile and the partition itself. Returns false when another collector
 * dropped it first.
 */
export async function dropEventPartition(db: Kysely<Database>, partition: EventPartition): Promise<boolean> {
  return dropEventPartitionWithDays(db, partition.name, isoDate(partition.from), isoDate(partition.to));
}

/** Deletes events of `which` older than `before`, with their ledger messages, in bounded batches; adds their days to `days`. */
async function deleteEvents(db: Kysely<Database>, which: EventSelection, before: Date, budget: RowBudget, days: Set<string>): Promise<number> {
  const batchSize = budget.batchSize ?? 10_000;
  const maxBatches = budget.maxBatches ?? 10;
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const { deleted: n, days: of } = await deleteOldEvents(db, which, before, batchSize);
    deleted += n;
    for (const day of of) days.add(day);
    if (n < batchSize) break;
  }
  return deleted;
}

/** Sorted `YYYY-MM-DD` days as runs of consecutive days, each `{ from, to }` (both included). */
function consecutiveRuns(days: readonly string[]): RollupRefresh[] {
  const runs: RollupRefresh[] = [];
  for (const day of days) {
    const last = runs.at(-1);
    if (last && Date.parse(day) - Date.parse(last.to) === DAY_MS) last.to = day;
    else runs.push({ from: day, to: day });
  }
  return runs;
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
    const n = await deleteRejectedBefore(db, before, batchSize);
    deleted += n;
    if (n < batchSize) break;
  }
  return deleted;
}
