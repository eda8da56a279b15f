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

/** An identifier found in a refused item; stored only as `tally_identity_hash(kind, value)`. */
export interface RefusedIdentifier {
  kind: 'user' | 'anonymous' | 'email';
  value: string;
}

/**
 * A refused event as `rejected_events` keeps it (any reason but consent): a capped excerpt
 * with IPs truncated, the hash and size of the whole item, the identifiers found in it (to
 * be hashed on write) and its source's storage budget for the day.
 */
export interface KeptRejection {
  kind: 'kept';
  source_id: string;
  message_id: string | null;
  reason: Exclude<RejectionReason, 'consent'>;
  errors: string[];
  /** The item's JSON text, capped (see `privacy/excerpt.ts`) and with IPs truncated. */
  payload: string;
  /** Hex sha-256 of the item's whole JSON text. */
  payload_sha256: string;
  /** Size of the item's whole JSON text in UTF-8 bytes. */
  payload_bytes: number;
  identifiers: RefusedIdentifier[];
  received_at: string;
  budget: { rowsPerDay: number; bytesPerDay: number };
}

/** An event refused for consent: nothing of it is kept but one more in its count. */
export interface ConsentRefusal {
  kind: 'consent';
  source_id: string;
  category: string;
  /** The UTC day it arrived, YYYY-MM-DD. */
  day: string;
}

/** One refused event, as the writer stores it: kept in `rejected_events`, or only counted. */
export type RejectedRecord = KeptRejection | ConsentRefusal;
