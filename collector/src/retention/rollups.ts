import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema/database.js';

/** Days back from today the scheduled refresh recomputes: yesterday and today. */
export const ROLLUP_DAYS = 2;

/** The UTC days `[from, to]` (both included, `YYYY-MM-DD`) one refresh recomputed. */
export interface RollupRefresh {
  from: string;
  to: string;
}

/**
 * Recomputes the daily roll-ups (`daily_event_counts`, `customer_days`, `customer_page_days`,
 * migration 20261202T1600) for the UTC days from `from` to `to`, both included, from `events`,
 * through `tally_refresh_daily_rollups`.
 *
 * @example
 * await refreshDailyRollups(db, { from: '2026-06-01', to: '2026-06-07' });
 */
export async function refreshDailyRollups(db: Kysely<Database>, days: RollupRefresh): Promise<RollupRefresh> {
  await sql`select tally_refresh_daily_rollups(${days.from}::date, ${days.to}::date)`.execute(db);
  return days;
}

/** The days the scheduled refresh covers at `now`: yesterday and today, in UTC. */
export function recentRollupDays(now: Date): RollupRefresh {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { from: day(now.getTime() - (ROLLUP_DAYS - 1) * 86_400_000), to: day(now.getTime()) };
}
