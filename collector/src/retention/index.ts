import type { Kysely } from 'kysely';
import type { Database } from '../db/schema/database.js';
import type { RetentionSettings } from './config.js';
import { expireEvents, expireRejectedEvents, type SourceRetention } from './expire.js';
import { ensureEventPartitions } from './partitions.js';

export type { RetentionSettings } from './config.js';
export { dropEventPartition, expireEvents, expireRejectedEvents, type SourceRetention } from './expire.js';
export { ensureEventPartitions, listEventPartitions, MONTHS_AHEAD, type EventPartition } from './partitions.js';

/** What one retention run did. */
export interface RetentionRun {
  partitionsCreated: number;
  droppedPartitions: string[];
  deletedEvents: number;
  deletedRejected: number;
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
  /** Stops the schedule and waits for a run in progress. */
  stop(): Promise<void>;
}

export const DEFAULT_RETENTION: RetentionSettings = { intervalMs: 3_600_000, rejectedRetentionDays: 30 };

/**
 * The collector's retention schedule. Before it returns, the partitions of `events` for this
 * month and the next ones exist; then, at once and every `intervalMs`, it creates partitions
 * ahead, expires events by their source's period and `rejected_events` by its own.
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

  let current: Promise<RetentionRun> | undefined;
  const run = async (now = new Date()): Promise<RetentionRun> => {
    while (current) await current.catch(() => undefined);
    current = (async () => {
      const partitionsCreated = await ensureEventPartitions(options.db, now);
      const events = await expireEvents(options.db, options.sources, now);
      const deletedRejected = await expireRejectedEvents(options.db, settings.rejectedRetentionDays, now);
      return { partitionsCreated, ...events, deletedRejected };
    })();
    try {
      return await current;
    } finally {
      current = undefined;
    }
  };
  const inFlight = new Set<Promise<void>>();
  const scheduled = () => {
    const settled = run().then(onRun, onError);
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  };
  let stopped = false;
  const timer = setInterval(scheduled, settings.intervalMs);
  timer.unref();
  scheduled();

  return {
    run,
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
