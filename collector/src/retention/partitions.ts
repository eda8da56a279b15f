import type { Kysely } from 'kysely';
import { createEventPartitions, eventPartitionNames } from '../db/partitions.js';
import type { Database } from '../db/schema/database.js';

/** A monthly partition of `events`: `events_YYYY_MM` holds the events of that UTC month. */
export interface EventPartition {
  name: string;
  /** First instant of the month (UTC), inclusive. */
  from: Date;
  /** First instant of the next month, exclusive. */
  to: Date;
}

const MONTHLY = /^events_(\d{4})_(\d{2})$/;

/** Months the collector keeps partitions ready for, after the current one. */
export const MONTHS_AHEAD = 2;

/**
 * Creates the partitions of `events` for the month of `now` and the `MONTHS_AHEAD` after it,
 * if missing (rows waiting for them in `events_default` move in). Returns how many it created.
 *
 * @example
 * await ensureEventPartitions(database.db, new Date());
 */
export async function ensureEventPartitions(db: Kysely<Database>, now: Date, monthsAhead = MONTHS_AHEAD): Promise<number> {
  const first = monthStart(now);
  const last = addMonths(first, monthsAhead);
  return createEventPartitions(db, isoDate(first), isoDate(last));
}

/**
 * The monthly partitions of `events`, oldest first. Partitions named otherwise (the default
 * one, or any made by hand) are not listed and never dropped.
 */
export async function listEventPartitions(db: Kysely<Database>): Promise<EventPartition[]> {
  return (await eventPartitionNames(db))
    .map((name) => {
      const match = MONTHLY.exec(name);
      if (!match) return undefined;
      const from = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
      return { name, from, to: addMonths(from, 1) };
    })
    .filter((partition): partition is EventPartition => partition !== undefined)
    .sort((a, b) => a.from.getTime() - b.from.getTime());
}

export function monthStart(instant: Date): Date {
  return new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), 1));
}

export function addMonths(month: Date, months: number): Date {
  return new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + months, 1));
}

export function isoDate(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}
