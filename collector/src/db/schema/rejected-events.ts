import type { ColumnType, Generated, Selectable } from 'kysely';

/** An event or request part that was refused, kept with its reason as a capped excerpt. */
export interface RejectedEventsTable {
  id: Generated<string>;
  source_id: string | null;
  message_id: string | null;
  reason: string;
  errors: ColumnType<string[], string, string>;
  /**
   * The item's JSON text, its first 2 KB with IPs truncated (text, not jsonb: an excerpt is
   * seldom whole JSON, and jsonb refuses some JSON such as "\u0000").
   */
  payload: string;
  /** Hex sha-256 of the whole item's JSON text (null only for rows written by hand). */
  payload_sha256: string | null;
  /** Size of the whole item's JSON text in bytes. */
  payload_bytes: number | null;
  /** `tally_identity_hash(kind, value)` of the userId, anonymousId and e-mail found in the item. */
  identity_hashes: ColumnType<string[], string[] | undefined, string[]>;
  received_at: ColumnType<Date, Date | string | undefined, never>;
}

/** How many events a source had refused for consent on a UTC day, per category: nothing else is kept. */
export interface ConsentRefusalsTable {
  source_id: string;
  category: string;
  day: ColumnType<Date, string, string>;
  events: number;
}

/** What a source made us store in `rejected_events` on a UTC day, and what its budget left out. */
export interface RejectedEventUsageTable {
  source_id: string;
  day: ColumnType<Date, string, string>;
  rows_stored: number;
  bytes_stored: number;
  rows_over_budget: number;
}

/** The `consent_changes` view: one row per consent change (a `Consent Updated` event). */
export interface ConsentChangesView {
  customer_id: string | null;
  source_id: string;
  message_id: string;
  changed_at: Date;
  category_preferences: Record<string, unknown> | null;
  gpc: boolean | null;
}

export type RejectedEventRow = Selectable<RejectedEventsTable>;
