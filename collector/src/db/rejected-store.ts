import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ConsentRefusal, KeptRejection, RejectedRecord } from '../ingest/records.js';
import { storableText } from '../ingest/storable.js';
import type { Database } from './schema/database.js';

/**
 * The `with` clauses of the write statement that store a transaction's refused events:
 * `refused` inserts the kept rows that `tally_admit_rejected` admits (within each source's
 * budget, a `(source, messageId)` once), `consent_refused` adds the consent refusals to their
 * counts. Returns no clause for what the transaction does not hold.
 *
 * @example
 * clauses.push(...refusalClauses(requests.flatMap((request) => request.rejected)));
 */
export function refusalClauses(records: readonly RejectedRecord[]): RawBuilder<unknown>[] {
  const clauses: RawBuilder<unknown>[] = [];
  const kept = records.filter((record): record is KeptRejection => record.kind === 'kept');
  if (kept.length > 0) {
    const rows = kept.map(({ kind: _kind, budget, ...row }, ord) => ({
      ...row,
      ord,
      message_id: row.message_id === null ? null : storableText(row.message_id),
      errors: row.errors.map(storableText),
      payload: storableText(row.payload),
      identifiers: row.identifiers.map((identifier) => ({ ...identifier, value: storableText(identifier.value) })),
      budget_rows: budget.rowsPerDay,
      budget_bytes: budget.bytesPerDay,
    }));
    clauses.push(sql`refused as (
      insert into rejected_events (source_id, message_id, reason, errors, payload, payload_sha256, payload_bytes, identity_hashes, received_at)
      select * from tally_admit_rejected(${JSON.stringify(rows)}::jsonb)
      on conflict do nothing)`);
  }
  const counts = new Map<string, ConsentRefusal & { events: number }>();
  for (const record of records) {
    if (record.kind !== 'consent') continue;
    const key = `${record.source_id}\n${record.category}\n${record.day}`;
    const count = counts.get(key) ?? { ...record, events: 0 };
    count.events++;
    counts.set(key, count);
  }
  if (counts.size > 0) {
    // In key order, as every writer takes them, so that two writers wait rather than deadlock.
    const rows = [...counts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, { source_id, category, day, events }]) => ({ source_id, category: storableText(category), day, events }));
    clauses.push(sql`consent_refused as (
      insert into consent_refusals as c (source_id, category, day, events)
      select source_id, category, day, events
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(source_id text, category text, day date, events bigint)
      on conflict (source_id, category, day) do update set events = c.events + excluded.events)`);
  }
  return clauses;
}

/**
 * Deletes up to `limit` of the oldest `rejected_events` rows received before `before`;
 * returns how many it deleted.
 *
 * @example
 * const deleted = await deleteRejectedBefore(db, cutoff, 10_000);
 */
export async function deleteRejectedBefore(db: Kysely<Database>, before: Date, limit: number): Promise<number> {
  const result = await sql`
    delete from rejected_events where id in (
      select id from rejected_events where received_at < ${before} order by received_at limit ${limit})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
