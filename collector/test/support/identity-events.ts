import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema/database.js';
import type { SourceKind } from '../../src/identity/stitch.js';
import { createGroupCommitWriter } from '../../src/ingest/group-commit-writer.js';
import type { EventRecord } from '../../src/ingest/records.js';

/** An event as the identity tests describe it: only what stitching looks at. */
export interface TestEvent {
  type?: string;
  messageId?: string;
  sourceId?: string;
  anonymousId?: string | null;
  userId?: string | null;
  previousId?: string | null;
  /** Minutes after a fixed origin, or a date. */
  at: number | Date;
  traits?: Record<string, unknown>;
  /** The campaign it arrived from (`utm_source`). */
  campaign?: string;
}

const ORIGIN = Date.parse('2026-11-01T12:00:00Z');

export function timeOf(at: number | Date): Date {
  return at instanceof Date ? at : new Date(ORIGIN + at * 60_000);
}

/** The `events` row the collector's enrichment would make of a test event. */
export function eventRecord(event: TestEvent): EventRecord {
  const type = event.type ?? 'track';
  return {
    message_id: event.messageId ?? randomUUID(),
    source_id: event.sourceId ?? 'web',
    type,
    event: type === 'track' ? 'Test Event' : null,
    name: null,
    anonymous_id: event.anonymousId ?? null,
    user_id: event.userId ?? null,
    group_id: null,
    previous_id: event.previousId ?? null,
    timestamp: timeOf(event.at).toISOString(),
    original_timestamp: null,
    sent_at: null,
    received_at: new Date().toISOString(),
    properties: {},
    traits: event.traits ?? {},
    context: {},
    url: null,
    path: null,
    referrer: null,
    utm_source: event.campaign ?? null,
    utm_medium: null,
    utm_campaign: null,
    utm_term: null,
    utm_content: null,
    browser: null,
    browser_version: null,
    os: null,
    os_version: null,
    device_type: null,
    ip: null,
  };
}

/**
 * Stores the events as one request of a source of `sourceKind` through the collector's own
 * writer (one transaction: stitching, then the events), and returns their message ids in
 * input order. Each call is a transaction of its own, so concurrent calls really race.
 */
export async function writeBatch(db: Kysely<Database>, events: readonly TestEvent[], sourceKind: SourceKind = 'client'): Promise<string[]> {
  const records = events.map(eventRecord);
  const writer = createGroupCommitWriter({ db, connections: 1 });
  await writer.write({ events: records, rejected: [], sourceKind });
  return records.map((record) => record.message_id);
}

/** The customer id each stored message was attributed to. */
export async function customersOf(db: Kysely<Database>, messageIds: readonly string[]): Promise<(string | null)[]> {
  if (messageIds.length === 0) return [];
  const rows = await db.selectFrom('events').select(['message_id', 'customer_id']).where('message_id', 'in', messageIds).execute();
  const byMessage = new Map(rows.map((row) => [row.message_id, row.customer_id]));
  return messageIds.map((id) => {
    if (!byMessage.has(id)) throw new Error(`message ${id} was not stored`);
    return byMessage.get(id)!;
  });
}

/** The customer an identity of the workspace points at, or undefined when there is no such identity. */
export async function customerOfIdentity(db: Kysely<Database>, kind: 'anonymous' | 'user', value: string): Promise<string | undefined> {
  const row = await db.selectFrom('identities').select('customer_id').where('kind', '=', kind).where('value', '=', value).executeTakeFirst();
  return row?.customer_id;
}
