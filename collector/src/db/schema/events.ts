import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Json = Record<string, unknown>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** One accepted event; the marketers' interface, so its column names are part of the product. */
export interface EventsTable {
  id: Generated<string>;
  message_id: string;
  source_id: string;
  type: string;
  event: string | null;
  name: string | null;
  anonymous_id: string | null;
  user_id: string | null;
  group_id: string | null;
  previous_id: string | null;
  customer_id: string | null;
  timestamp: Timestamp;
  original_timestamp: Timestamp | null;
  sent_at: Timestamp | null;
  received_at: Timestamp;
  properties: ColumnType<Json, Json | string | undefined, Json | string>;
  traits: ColumnType<Json, Json | string | undefined, Json | string>;
  context: ColumnType<Json, Json | string | undefined, Json | string>;
  url: string | null;
  path: string | null;
  referrer: string | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  browser: string | null;
  browser_version: string | null;
  os: string | null;
  os_version: string | null;
  device_type: string | null;
  ip: string | null;
}

export type EventRow = Selectable<EventsTable>;
export type NewEventRow = Insertable<EventsTable>;

/** The ledger of every `(source_id, message_id)` stored and not yet expired: what makes a retry a duplicate. */
export interface EventMessagesTable {
  source_id: string;
  message_id: string;
}
