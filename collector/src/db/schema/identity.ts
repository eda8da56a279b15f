import type { ColumnType, Generated, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<Record<string, unknown>, Record<string, unknown> | string, Record<string, unknown> | string>;

/** One person as far as Tally knows: anonymous until a userId is linked to it. */
export interface CustomersTable {
  id: string;
  /** The identify traits, merged per key, the newest identify winning. */
  traits: Json;
  /** For each trait key, the ISO timestamp of the identify that set its current value. */
  trait_timestamps: Json;
  /** For each trait key, `{ source_id, kind }` of the source that set its current value. */
  trait_sources: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, Record<string, unknown> | string>;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  /** When a userId was first linked; null while the customer is anonymous. */
  identified_at: Timestamp | null;
}

/** An anonymousId or userId of the workspace (whichever source sent it), pointing at exactly one customer. */
export interface IdentitiesTable {
  kind: 'anonymous' | 'user';
  /** The source that first sent it. */
  source_id: string;
  value: string;
  customer_id: string;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
}

/** A merge of two customers, or an anonymousId re-linked to another customer, with its cause. */
export interface IdentityMergesTable {
  id: Generated<string>;
  from_customer_id: string;
  into_customer_id: string;
  reason: 'identify' | 'alias' | 'anonymous_id_relinked' | 'workspace_identity';
  source_id: string;
  message_id: string;
  merged_at: ColumnType<Date, Date | string | undefined, never>;
  /** The merged-away customer's row as it was, for undo (null: a re-link, or recorded before merges were reversible). */
  merged_customer: ColumnType<MergedCustomerRow | null, string | null | undefined, never>;
  /** The surviving customer's row before the merge (null: new in the merging batch, or not recorded). */
  survivor_before: ColumnType<MergedCustomerRow | null, string | null | undefined, never>;
  /** The identities the merge moved. */
  moved_identities: ColumnType<{ kind: 'anonymous' | 'user'; value: string }[] | null, string | null | undefined, never>;
  /** The ids of the events the merge moved. */
  moved_event_ids: ColumnType<unknown[] | null, never, never>;
}

/** A customer row as `identity_merges` keeps it for undo (times as ISO strings). */
export interface MergedCustomerRow {
  traits: Record<string, unknown>;
  trait_timestamps: Record<string, unknown>;
  trait_sources: Record<string, unknown>;
  first_seen_at: string;
  last_seen_at: string;
  identified_at: string | null;
}

/** That a merge was undone, how and how much moved back (one row per merge at most). */
export interface IdentityMergeUndosTable {
  merge_id: number;
  undone_at: ColumnType<Date, Date | string | undefined, never>;
  /** How the undo was asked for: 'cli' or 'admin_api'. */
  channel: string;
  actor: string | null;
  identities_moved: number;
  events_moved: number;
}

/** That a right-to-be-forgotten deletion happened and how much it removed; never whom. */
export interface DeletionLogTable {
  id: Generated<string>;
  deleted_at: ColumnType<Date, Date | string | undefined, never>;
  /** How the deletion was asked for: 'cli' or 'admin_api'. */
  channel: string;
  actor: string | null;
  customers_deleted: number;
  identities_deleted: number;
  events_deleted: number;
  merges_deleted: number;
  /** Rows of `rejected_events` that held the person's identifiers. */
  rejected_deleted: Generated<number>;
}

/** The identity graph's tables. */
export interface IdentityTables {
  customers: CustomersTable;
  identities: IdentitiesTable;
  identity_merges: IdentityMergesTable;
  identity_merge_undos: IdentityMergeUndosTable;
  deletion_log: DeletionLogTable;
}

export type CustomerRow = Selectable<CustomersTable>;
export type IdentityRow = Selectable<IdentitiesTable>;
export type IdentityMergeRow = Selectable<IdentityMergesTable>;
