/**
 * How often the collector runs retention and refreshes the daily roll-ups, and how long
 * refused events are kept; read from `TALLY_RETENTION_INTERVAL_MS`, `TALLY_ROLLUP_INTERVAL_MS`
 * and `TALLY_REJECTED_RETENTION_DAYS` by `loadConfig`. Each
 * source's own period is `retentionDays` in its configuration.
 */
export interface RetentionSettings {
  /** Time between two runs (partitions created ahead, expired data removed). */
  intervalMs: number;
  /** `rejected_events` rows older than this many days are deleted. */
  rejectedRetentionDays: number;
  /** Time between two refreshes of yesterday's and today's roll-ups (default 300000, 5 minutes). */
  rollupIntervalMs?: number;
}
