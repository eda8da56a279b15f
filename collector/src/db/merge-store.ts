import { sql, type Kysely } from 'kysely';
import type { Database } from './schema/database.js';
import type { MergedCustomerRow } from './schema/identity.js';

/** A row of `identity_merges` as listing and undoing see it. */
export interface MergeEntry {
  id: number;
  from_customer_id: string;
  into_customer_id: string;
  reason: string;
  source_id: string;
  message_id: string;
  merged_at: Date;
  /** Whether the row holds what an undo needs. */
  reversible: boolean;
  identities_moved: number | null;
  events_moved: number | null;
  undone_at: Date | null;
}

const ENTRY = sql`m.id, m.from_customer_id, m.into_customer_id, m.reason, m.source_id, m.message_id, m.merged_at,
  m.merged_customer is not null as reversible,
  jsonb_array_length(m.moved_identities) as identities_moved, cardinality(m.moved_event_ids) as events_moved,
  u.undone_at`;

/**
 * The merges and re-links from or into any of the customers, oldest first, each with whether
 * it can be undone and when it was.
 *
 * @example
 * const merges = await mergesOf(db, ['6f1c…']);
 */
export async function mergesOf(db: Kysely<Database>, customerIds: readonly string[]): Promise<MergeEntry[]> {
  if (customerIds.length === 0) return [];
  const ids = JSON.stringify(customerIds);
  const { rows } = await sql<MergeEntry>`
    select ${ENTRY}
    from identity_merges m left join identity_merge_undos u on u.merge_id = m.id
    where m.from_customer_id in (select value::uuid from jsonb_array_elements_text(${ids}::jsonb))
       or m.into_customer_id in (select value::uuid from jsonb_array_elements_text(${ids}::jsonb))
    order by m.id`.execute(db);
  return rows;
}

/** A merge with what an undo restores. */
export interface MergeForUndo extends MergeEntry {
  merged_customer: MergedCustomerRow | null;
  survivor_before: MergedCustomerRow | null;
}

/** Reads merge `id` and locks it against a concurrent undo; undefined when there is none. */
export async function lockMerge(trx: Kysely<Database>, id: number): Promise<MergeForUndo | undefined> {
  const { rows } = await sql<MergeForUndo>`
    select ${ENTRY}, m.merged_customer, m.survivor_before
    from identity_merges m left join identity_merge_undos u on u.merge_id = m.id
    where m.id = ${id}
    for update of m`.execute(trx);
  return rows[0];
}

/**
 * The newest merge or re-link after `afterId`, not undone, that moved something off
 * `customerId`; undefined when there is none.
 */
export async function laterMergeFrom(trx: Kysely<Database>, afterId: number, customerId: string): Promise<MergeEntry | undefined> {
  const { rows } = await sql<MergeEntry>`
    select ${ENTRY}
    from identity_merges m left join identity_merge_undos u on u.merge_id = m.id
    where m.id > ${afterId} and m.from_customer_id = ${customerId} and u.merge_id is null
    order by m.id desc limit 1`.execute(trx);
  return rows[0];
}

/**
 * Creates the merged-away customer of merge `id` again from its record, and moves back to it
 * the identities and events the merge moved that are still on the customer it merged into.
 * Returns how many moved back.
 */
export async function restoreMergedCustomer(trx: Kysely<Database>, id: number): Promise<{ identities: number; events: number }> {
  await sql`
    insert into customers (id, traits, trait_timestamps, trait_sources, first_seen_at, last_seen_at, identified_at)
    select m.from_customer_id, c.traits, c.trait_timestamps, c.trait_sources, c.first_seen_at, c.last_seen_at, c.identified_at
    from identity_merges m,
      jsonb_to_record(m.merged_customer) as c(traits jsonb, trait_timestamps jsonb, trait_sources jsonb,
        first_seen_at timestamptz, last_seen_at timestamptz, identified_at timestamptz)
    where m.id = ${id}`.execute(trx);
  const identities = await sql`
    update identities i set customer_id = m.from_customer_id
    from identity_merges m, jsonb_to_recordset(m.moved_identities) as r(kind text, value text)
    where m.id = ${id} and i.kind = r.kind and i.value = r.value and i.customer_id = m.into_customer_id`.execute(trx);
  const events = await sql`
    update events e set customer_id = m.from_customer_id
    from identity_merges m, unnest(m.moved_event_ids) as moved(id)
    where m.id = ${id} and e.id = moved.id and e.customer_id = m.into_customer_id`.execute(trx);
  return { identities: Number(identities.numAffectedRows ?? 0), events: Number(events.numAffectedRows ?? 0) };
}

/** Sets a customer's traits and times (after an undo took back what a merge gave it). */
export async function rewriteCustomer(trx: Kysely<Database>, id: string, row: MergedCustomerRow): Promise<void> {
  await sql`
    update customers set traits = ${JSON.stringify(row.traits)}::jsonb, trait_timestamps = ${JSON.stringify(row.trait_timestamps)}::jsonb,
      trait_sources = ${JSON.stringify(row.trait_sources)}::jsonb, first_seen_at = ${row.first_seen_at}::timestamptz,
      last_seen_at = ${row.last_seen_at}::timestamptz, identified_at = ${row.identified_at}::timestamptz
    where id = ${id}`.execute(trx);
}

/** Records that merge `mergeId` was undone. */
export async function recordUndo(
  trx: Kysely<Database>,
  undo: { mergeId: number; channel: string; actor: string | null; identities: number; events: number },
): Promise<Date> {
  const row = await trx
    .insertInto('identity_merge_undos')
    .values({ merge_id: undo.mergeId, channel: undo.channel, actor: undo.actor, identities_moved: undo.identities, events_moved: undo.events })
    .returning('undone_at')
    .executeTakeFirstOrThrow();
  return row.undone_at;
}
