/**
 * The instants Tally accepts and stores (docs/design.md §1): years 0001 to 9999, as ISO-8601
 * writes them. Postgres stores far more (4713 BC on), but year 0 and earlier have no ISO-8601
 * form that every client reads back alike, and a skew correction must never leave the range.
 * Plain TypeScript, no zod: the collector and any other sender can use it as is.
 */

/**
 * The first accepted instant, 0001-01-01T00:00:00.000Z, in milliseconds since the epoch.
 * (Not `Date.UTC(1, 0, 1)`: `Date.UTC` reads years 0–99 as 1900–1999.)
 *
 * @example
 * new Date(EARLIEST_INSTANT_MS).toISOString(); // '0001-01-01T00:00:00.000Z'
 */
export const EARLIEST_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');

/**
 * The last accepted instant, 9999-12-31T23:59:59.999Z, in milliseconds since the epoch.
 *
 * @example
 * new Date(LATEST_INSTANT_MS).toISOString(); // '9999-12-31T23:59:59.999Z'
 */
export const LATEST_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * Whether an instant (milliseconds since the epoch) lies in the years 0001–9999.
 *
 * @example
 * isAcceptedInstant(Date.parse('1899-07-14T00:00:00Z')); // true
 * isAcceptedInstant(Date.parse('0000-06-01T00:00:00Z')); // false
 */
export function isAcceptedInstant(ms: number): boolean {
  return ms >= EARLIEST_INSTANT_MS && ms <= LATEST_INSTANT_MS;
}

/**
 * Brings an instant computed by the collector (a skew-corrected timestamp) into the years
 * 0001–9999, so that no correction can produce a value that would not be stored.
 *
 * @example
 * new Date(clampInstant(Date.parse('0000-01-01T00:00:00Z'))).toISOString(); // '0001-01-01T00:00:00.000Z'
 */
export function clampInstant(ms: number): number {
  return Math.min(Math.max(ms, EARLIEST_INSTANT_MS), LATEST_INSTANT_MS);
}
