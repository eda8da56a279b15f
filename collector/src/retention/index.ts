import type { Kysely } from 'kysely';
import type { Database } from '../db/schema/database.js';
import type { RetentionSettings } from './config.js';
import { expireEvents, expireRejectedEvents, type SourceRetention } from './expire.js';
import { ensureEventPartitions } from './partitions.js';
import { recentRollupDays, refreshDailyRollups, type RollupRefresh } from './rollups.js';

export type { RetentionSettings } from './config.js';
export { dropEventPartition, expireEvents, expireRejectedEvents, type SourceRetention } from './expire.js';
export { ensureEventPartitions, listEventPartitions, MONTHS_AHEAD, type EventPartition } from './partitions.js';
export { recentRollupDays, refreshDailyRollups, ROLLUP_DAYS, type RollupRefresh } from './rollups.js';

/** What one retention run did. */
export interface RetentionRun {
  partitionsCreated: number;
  droppedPartitions: string[];
  deletedEvents: number;
  deletedRejected: number;
  /** The days whose roll-ups were recomputed (after the expiry, so expired events are gone from them). */
  rollups: RollupRefresh;
}

export interface RetentionOptions {
  db: Kysely<Database>;
  sources: readonly SourceRetention[];
  settings?: RetentionSettings | undefined;
  /** Called after each run; by default a run that removed something is logged. */
  onRun?: (run: RetentionRun) => void;
  /** Called when a run fails; by default logged. The next run tries again. */
  onError?: (error: unknown) => void;
}

export interface RetentionSchedule {
  /** One run now (waits for a run in progress first). */
  run(now?: Date): Promise<RetentionRun>;
  /** One refresh of yesterday's and today's roll-ups now (waits for a run in progress first). */
  refreshRollups(now?: Date): Promise<RollupRefresh>;
  /** Stops the schedule and waits for a run in progress. */
  stop(): Promise<void>;
}

export const DEFAULT_RETENTION: RetentionSettings = { intervalMs: 3_600_000, rejectedRetentionDays: 30, rollupIntervalMs: 300_000 };

/**
 * The collector's retention schedule. Before it returns, the partitions of `events` for this
 * month and the next ones exist; then, at once and every `intervalMs`, it creates partitions
 * ahead, expires events by their source's period and `rejected_events` by its own. The same
 * schedule (one timer) refreshes yesterday's and today's daily roll-ups (rollups.ts) after
 * each run and every `rollupIntervalMs` between runs.
 *
 * @example
 * const retention = await startRetention({ db: database.db, sources: config.sources, settings: config.retention });
 * // on shutdown
 * await retention.stop();
 */
export async function startRetention(options: RetentionOptions): Promise<RetentionSchedule> {
  const settings = options.settings ?? DEFAULT_RETENTION;
  const onRun = options.onRun ?? logRun;
  const onError = options.onError ?? ((error) => console.error(`tally-collector: retention run failed: ${error instanceof Error ? error.message : String(error)}`));
  await ensureEventPartitions(options.db, new Date());

  const rollupIntervalMs = settings.rollupIntervalMs ?? DEFAULT_RETENTION.rollupIntervalMs!;

  // One task at a time: a run or a refresh waits for the one in progress.
  let current: Promise<unknown> | undefined;
  const exclusive = async <T>(task: () => Promise<T>): Promise<T> => {
    while (current) await current.catch(() => undefined);
    const running = task();
    current = running;
    try {
      return await running;
    } finally {
      current = undefined;
    }
  };
  const run = (now = new Date()): Promise<RetentionRun> =>
    exclusive(async () => {
      const partitionsCreated = await ensureEventPartitions(options.db, now);
      const events = await expireEvents(options.db, options.sources, now);
      const deletedRejected = await expireRejectedEvents(options.db, settings.rejectedRetentionDays, now);
      const rollups = await refreshDailyRollups(options.db, recentRollupDays(now));
      return { partitionsCreated, ...events, deletedRejected, rollups };
    });
  const refreshRollups = (now = new Date()): Promise<RollupRefresh> => exclusive(() => refreshDailyRollups(options.db, recentRollupDays(now)));

  const inFlight = new Set<Promise<void>>();
  const track = (settled: Promise<void>) => {
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  };
  // The timer ticks at the shorter interval; a tick is a full run once intervalMs has passed
  // since the last one began, otherwise a refresh of the roll-ups alone.
  let lastRunAt = 0;
  const tick = () => {
    const now = Date.now();
    if (now - lastRunAt >= settings.intervalMs) {
      lastRunAt = now;
      track(run().then(onRun, onError));
    } else {
      track(refreshRollups().then(() => undefined, onError));
    }
  };
  let stopped = false;
  const timer = setInterval(tick, Math.min(settings.intervalMs, rollupIntervalMs));
  timer.unref();
  tick();

  return {
    run,
    refreshRollups,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await Promise.all(inFlight);
      while (current) await current.catch(() => undefined);
    },
  };
}

function logRun(run: RetentionRun): void {
  if (run.partitionsCreated === 0 && run.droppedPartitions.length === 0 && run.deletedEvents === 0 && run.deletedRejected === 0) return;
  console.log(
    `tally-collector: retention: ${run.partitionsCreated} partition(s) created, dropped [${run.droppedPartitions.join(', ')}], ` +
      `${run.deletedEvents} event(s) and ${run.deletedRejected} rejected event(s) deleted`,
  );
}
