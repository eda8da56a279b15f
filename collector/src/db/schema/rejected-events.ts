import type { ColumnType, Generated, Selectable } from 'kysely';

/** An event or request part that was refused: kept with its reason, never dropped. */
export interface RejectedEventsTable {
  id: Generated<string>;
  source_id: string | null;
  message_id: string | null;
  reason: string;
  errors: ColumnType<string[], string, string>;
  /** The raw item as received, JSON text (text, not jsonb: jsonb refuses some JSON such as "\u0000"). */
  payload: string;
  received_at: ColumnType<Date, Date | string | undefined, never>;
}

export type RejectedEventRow = Selectable<RejectedEventsTable>;
