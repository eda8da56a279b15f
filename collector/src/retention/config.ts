import * as z from 'zod';

/** How often the collector runs retention, and how long refused events are kept. */
export interface RetentionSettings {
  /** Time between two runs (partitions created ahead, expired data removed). */
  intervalMs: number;
  /** `rejected_events` rows older than this many days are deleted. */
  rejectedRetentionDays: number;
}

const positive = (variable: string, fallback: number) =>
  z.coerce
    .number({ error: `${variable} must be a number` })
    .int(`${variable} must be a whole number`)
    .positive(`${variable} must be 1 or more`)
    .default(fallback);

/**
 * | variable | default | meaning |
 * |---|---|---|
 * | `TALLY_RETENTION_INTERVAL_MS` | 3600000 (an hour) | time between two retention runs |
 * | `TALLY_REJECTED_RETENTION_DAYS` | 30 | days a row of `rejected_events` is kept |
 *
 * Each source's own period is `retentionDays` in its configuration.
 */
const RetentionEnv = z.object({
  TALLY_RETENTION_INTERVAL_MS: positive('TALLY_RETENTION_INTERVAL_MS', 3_600_000),
  TALLY_REJECTED_RETENTION_DAYS: positive('TALLY_REJECTED_RETENTION_DAYS', 30),
});

/**
 * Reads the retention settings from an environment; throws an error naming the variable when
 * one is not valid.
 *
 * @example
 * const settings = retentionConfigFromEnv(process.env); // { intervalMs: 3600000, rejectedRetentionDays: 30 }
 */
export function retentionConfigFromEnv(env: Record<string, string | undefined>): RetentionSettings {
  const present = Object.fromEntries(
    Object.keys(RetentionEnv.shape).map((name) => [name, env[name]?.trim() === '' ? undefined : env[name]?.trim()]),
  );
  const result = RetentionEnv.safeParse(present);
  if (!result.success) throw new Error(result.error.issues[0]?.message ?? 'invalid retention setting');
  return {
    intervalMs: result.data.TALLY_RETENTION_INTERVAL_MS,
    rejectedRetentionDays: result.data.TALLY_REJECTED_RETENTION_DAYS,
  };
}
