import type { ColumnType, Generated } from 'kysely';

type Json = ColumnType<Record<string, unknown>, Record<string, unknown> | string, Record<string, unknown> | string>;

/** How an imported record was matched (see `import/match.ts`). */
export type MatchRule = 'user_id' | 'email' | 'phone' | 'name_postcode' | 'name_birth_date';

/** What became of an imported record. */
export type ImportStatus = 'new' | 'merged' | 'queued' | 'accepted' | 'rejected';

/** One record an import applied or queued for review, keyed by the fingerprint of its content. */
export interface ImportRecordsTable {
  id: Generated<string>;
  fingerprint: string;
  import_id: string;
  /** The record's line in its file (the first data line of a CSV is 2, after its header). */
  line: number;
  status: ImportStatus;
  /** The customer the record ended in; null while queued. */
  customer_id: string | null;
  /** The customer a match proposed (merged, queued, accepted, rejected). */
  candidate_customer_id: string | null;
  rule: MatchRule | null;
  /** The rule's confidence, 0–1 (read as a string by `pg`: numeric). */
  confidence: ColumnType<string | null, number | null, number | null>;
  /** What the match rested on: the rule's normalised values and every customer each rule found. */
  evidence: Json | null;
  /** The record as read, kept while it waits for review. */
  record: Json | null;
  imported_at: ColumnType<Date, Date | string | undefined, never>;
  decided_at: ColumnType<Date | null, Date | string | undefined, Date | string>;
  decided_by: string | null;
}
