import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

/** One event as the analytics views read it; what is left out is null or `{}`. */
export interface AnalyticsEvent {
  customer: string;
  at: Date | string;
  event?: string;
  type?: string;
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
  anonymousId?: string;
  utmSource?: string;
  path?: string;
  browser?: string;
  os?: string;
  deviceType?: string;
}

/**
 * Stores events as the collector's writer leaves them in `events` (already attributed to a
 * customer), for tests of the SQL views over them.
 */
export async function insertEvents(db: Kysely<any>, events: AnalyticsEvent[], source = 'analytics-test'): Promise<void> {
  const rows = events.map((e) => ({
    message_id: randomUUID(),
    type: e.type ?? (e.event === undefined ? 'page' : 'track'),
    event: e.event ?? null,
    customer_id: e.customer,
    anonymous_id: e.anonymousId ?? `anon-${e.customer}`,
    at: typeof e.at === 'string' ? e.at : e.at.toISOString(),
    properties: e.properties ?? {},
    context: e.context ?? {},
    utm_source: e.utmSource ?? null,
    path: e.path ?? null,
    browser: e.browser ?? null,
    os: e.os ?? null,
    device_type: e.deviceType ?? null,
  }));
  await sql`
    insert into events (message_id, source_id, type, event, customer_id, anonymous_id, "timestamp", received_at, properties, context,
                        utm_source, path, browser, os, device_type)
    select r.message_id, ${source}, r.type, r.event, r.customer_id, r.anonymous_id, r.at, r.at, r.properties, r.context,
           r.utm_source, r.path, r.browser, r.os, r.device_type
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
           as r(message_id text, type text, event text, customer_id uuid, anonymous_id text, at timestamptz, properties jsonb, context jsonb,
                utm_source text, path text, browser text, os text, device_type text)`.execute(db);
}

/** Noon UTC `days` days before today (plus `minutes`): the same UTC day wherever the test runs. */
export function daysAgo(days: number, minutes = 0): Date {
  const at = new Date();
  at.setUTCHours(12, minutes, 0, 0);
  at.setUTCDate(at.getUTCDate() - days);
  return at;
}

/** The UTC date `days` days before today, as `YYYY-MM-DD`. */
export function dayAgo(days: number): string {
  return daysAgo(days).toISOString().slice(0, 10);
}

/** The rows of one SQL statement, as the driver returns them. */
export async function rowsOf(db: Kysely<any>, text: string): Promise<Record<string, unknown>[]> {
  return (await sql.raw<Record<string, unknown>>(text).execute(db)).rows;
}
