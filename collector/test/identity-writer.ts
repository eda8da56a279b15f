import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/schema/database.js';
import { stitchIdentities, type StitchInput } from '../src/identity/stitch.js';
import { insertEvents } from '../src/ingest/group-commit-writer.js';

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
}

const ORIGIN = Date.parse('2026-11-01T12:00:00Z');

export function timeOf(at: number | Date): Date {
  return at instanceof Date ? at : new Date(ORIGIN + at * 60_000);
}

/**
 * Does what the collector's writer does with one group commit: in one transaction, stitch
 * the batch, then insert its events with the customer ids stitching returned, a message id
 * already stored being skipped. Returns the message ids in input order.
 */
export async function writeBatch(db: Kysely<Database>, events: readonly TestEvent[]): Promise<string[]> {
  const rows = events.map((event) => {
    const input: StitchInput = {
      source_id: event.sourceId ?? 'web',
      message_id: event.messageId ?? randomUUID(),
      type: event.type ?? 'track',
      anonymous_id: event.anonymousId ?? null,
      user_id: event.userId ?? null,
      previous_id: event.previousId ?? null,
      timestamp: timeOf(event.at),
      traits: event.traits ?? {},
    };
    return input;
  });
  await db.transaction().execute(async (trx) => {
    const customerIds = await stitchIdentities(trx, rows);
    if (rows.length === 0) return;
    const receivedAt = new Date();
    const stored = rows.map((row, index) => ({
      message_id: row.message_id,
      source_id: row.source_id,
      type: row.type,
      event: row.type === 'track' ? 'Test Event' : null,
      anonymous_id: row.anonymous_id,
      user_id: row.user_id,
      previous_id: row.previous_id,
      customer_id: customerIds[index] ?? null,
      timestamp: row.timestamp,
      received_at: receivedAt,
      properties: {},
      traits: row.traits,
      context: {},
    }));
    await insertEvents(JSON.stringify(stored)).execute(trx);
  });
  return rows.map((row) => row.message_id);
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

/** The customer an identity points at, or undefined when there is no such identity. */
export async function customerOfIdentity(
  db: Kysely<Database>,
  kind: 'anonymous' | 'user',
  value: string,
  sourceId = 'web',
): Promise<string | undefined> {
  const row = await db
    .selectFrom('identities')
    .select('customer_id')
    .where('kind', '=', kind)
    .where('value', '=', value)
    .where('source_id', '=', sourceId)
    .executeTakeFirst();
  return row?.customer_id;
}
