/** One validated, enriched event ready for the `events` table (before its customer is resolved). */
export interface EventRecord {
  message_id: string;
  source_id: string;
  type: string;
  event: string | null;
  name: string | null;
  anonymous_id: string | null;
  user_id: string | null;
  group_id: string | null;
  previous_id: string | null;
  /** ISO-8601 instants. */
  timestamp: string;
  original_timestamp: string | null;
  sent_at: string | null;
  received_at: string;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown>;
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

/** Why an event was refused; the codes are stable and stored in `rejected_events.reason`. */
export type RejectionReason = 'schema' | 'too_large' | 'consent' | 'unstorable';

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
