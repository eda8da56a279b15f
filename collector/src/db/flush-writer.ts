import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { StitchWrites } from '../identity/stitch.js';
import { foldStoredCustomer } from '../identity/stitch-plan.js';
import type { RejectedRecord } from '../ingest/records.js';
import { insertEvents } from './event-store.js';
import { deleteCustomers, insertMerges, lockCustomers, moveMergedCustomers, upsertCustomers, upsertIdentities, type StoredCustomer } from './identity-store.js';
import { refusalClauses } from './rejected-store.js';
import type { Database } from './schema/database.js';
import type { NewEventRow } from './schema/events.js';
import type { MergedCustomerRow } from './schema/identity.js';

/** Everything one write transaction stores: what stitching decided, the events, the refused events. */
export interface Flush {
  stitch: StitchWrites;
  /** `events` rows, each with its customer from `stitch.customerIds`; unique by `(source_id, message_id)`. */
  events: readonly NewEventRow[];
  rejected: readonly RejectedRecord[];
}

/**
 * The collector's one writer: executes a flush inside the caller's transaction and returns
 * the `(source_id, message_id)` of the events it stored (the others were stored before:
 * duplicates). Without merges, the identity writes, the events and the refused events are
 * one statement (the writes as `with` clauses; Postgres checks the foreign key from
 * identities to customers at the end of the statement), so a flush is two round trips with
 * stitching's read. A flush that merges customers first writes the merge statement by
 * statement: lock the merged customers and their survivors, fold the merged customers' traits
 * into their survivors, upsert the customers, move the merged customers' identities and
 * events and record the merges, upsert the identities, delete the merged customers.
 *
 * @example
 * const stitch = await stitchBatch(trx, inputs);
 * const stored = await writeFlush(trx, { stitch, events: rows, rejected });
 */
export async function writeFlush(trx: Kysely<Database>, flush: Flush): Promise<{ source_id: string; message_id: string }[]> {
  const clauses: RawBuilder<unknown>[] = [];
  const { stitch } = flush;
  if (stitch.mergedAway.length === 0) {
    await insertMerges(trx, stitch.merges);
    if (stitch.customers.length > 0) clauses.push(upsertCustomers(stitch.customers));
    if (stitch.identities.length > 0) clauses.push(upsertIdentities(stitch.identities));
  } else {
    await writeMerges(trx, stitch);
  }
  const named = clauses.map((write, i) => sql`${sql.ref(`identity_write_${i}`)} as (${write})`);
  named.push(...refusalClauses(flush.rejected));
  if (flush.events.length > 0) return (await insertEvents(JSON.stringify(flush.events), named).execute(trx)).rows;
  if (named.length > 0) await sql`with ${sql.join(named)} select 1`.execute(trx);
  return [];
}

/**
 * The slower path of a flush that merges stored customers, statement by statement. Each
 * merge of a stored customer is recorded with what undoing it needs (identity/merge-undo.ts):
 * the merged customer's row and its survivor's as they were, and the identities and events
 * that moved, gathered by the statement that moves them.
 */
async function writeMerges(trx: Kysely<Database>, stitch: StitchWrites): Promise<void> {
  // Folding replaces top-level keys only, so a copy one level deep keeps the plan intact
  // (a deep copy of traits nested thousands deep would overflow the stack).
  const customers = new Map(
    stitch.customers.map((patch) => [
      patch.id,
      { ...patch, traits: { ...patch.traits }, trait_timestamps: { ...patch.trait_timestamps }, trait_sources: { ...patch.trait_sources } },
    ]),
  );
  const survivorOf = new Map(stitch.mergedAway.map((m) => [m.from_customer_id, m.into_customer_id]));
  const locked = new Map((await lockCustomers(trx, [...new Set([...survivorOf.keys(), ...survivorOf.values()])])).map((row) => [row.id, row]));
  for (const [from, into] of survivorOf) {
    const row = locked.get(from);
    if (row !== undefined) foldStoredCustomer(customers.get(into)!, row);
  }
  await upsertCustomers([...customers.values()]).execute(trx);
  const records = stitch.merges.map((merge) => {
    // The merge that moved a stored customer; a re-link moves no customer.
    const moved = survivorOf.has(merge.from_customer_id) && merge.reason !== 'anonymous_id_relinked';
    return {
      ...merge,
      merged_customer: moved ? snapshotOf(locked.get(merge.from_customer_id)) : null,
      survivor_before: moved ? snapshotOf(locked.get(merge.into_customer_id)) : null,
    };
  });
  await moveMergedCustomers(trx, stitch.mergedAway, records);
  await upsertIdentities(stitch.identities).execute(trx);
  await deleteCustomers(trx, [...survivorOf.keys()]);
}

function snapshotOf(row: StoredCustomer | undefined): MergedCustomerRow | null {
  if (row === undefined) return null;
  return {
    traits: row.traits,
    trait_timestamps: row.trait_timestamps,
    trait_sources: row.trait_sources,
    first_seen_at: row.first_seen_at.toISOString(),
    last_seen_at: row.last_seen_at.toISOString(),
    identified_at: row.identified_at?.toISOString() ?? null,
  };
}
