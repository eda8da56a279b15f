import type { EventsTable } from '../db/schema/events.js';
import type { IdentityRefusalReason } from '../identity/source-trust.js';

type Instant = 'timestamp' | 'received_at';
type OptionalInstant = 'original_timestamp' | 'sent_at';
type JsonColumn = 'properties' | 'traits' | 'context';
type TextColumn = Exclude<keyof EventsTable, 'id' | 'customer_id' | Instant | OptionalInstant | JsonColumn>;

/**
 * One validated, enriched event ready for the `events` table (before its customer is
 * resolved), as plain JSON: instants as ISO-8601 strings. Derived from the table's type so
 * that a column added there cannot be forgotten here.
 */
export type EventRecord = { [K in TextColumn]: EventsTable[K] } & { [K in Instant]: string } & {
  [K in OptionalInstant]: string | null;
} & { [K in JsonColumn]: Record<string, unknown> };

/**
 * Why an event was refused; the codes are stable and stored in `rejected_events.reason`.
 * `write_failed`: valid, but the database refused to store it even alone (docs/design.md §2).
 */
export type RejectionReason = 'schema' | 'too_large' | 'consent' | 'unstorable' | 'write_failed' | IdentityRefusalReason;

/** One refused event, kept with its reason and raw payload for `rejected_events`. */
export interface RejectedRecord {
  source_id: string;
  message_id: string | null;
  reason: RejectionReason;
  errors: string[];
  /** The item as received, as JSON text (NUL and lone surrogates appear only as escapes). */
  payload: string;
  received_at: string;
}
