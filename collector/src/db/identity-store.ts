import { sql, type Kysely, type RawBuilder } from 'kysely';
import { GRAPH_LOCK, IDENTITY_LOCK_SLOTS, IDENTITY_LOCKS_PER_BATCH } from '../identity/graph-lock.js';
import type { CustomerPatch, IdentityKind, IdentityRef, IdentityWrite, MergeRecord } from '../identity/stitch-plan.js';
import type { Database } from './schema/database.js';
import type { CustomerRow, MergedCustomerRow } from './schema/identity.js';

/** One row of `tally_lock_and_read_identities`: a stored identity and what stitching needs of its customer. */
export interface FoundIdentity {
  o_kind: IdentityKind;
  o_value: string;
  o_customer_id: string;
  o_identity_first_seen_at: Date;
  o_identity_last_seen_at: Date;
  o_customer_first_seen_at: Date;
  o_customer_last_seen_at: Date;
  o_identified_at: Date | null;
}

/**
 * Takes the identity graph lock (exclusive when `graphExclusive` or when `refs` are more than
 * `IDENTITY_LOCKS_PER_BATCH`, else shared, with one lock per identity), then reads those of
 * `refs` that are stored, in one round trip (see the identity-locks migration and
 * identity/stitch.ts).
 *
 * @example
 * const found = await lockAndReadIdentities(trx, [{ kind: 'user', value: 'u-1' }], false);
 */
export async function lockAndReadIdentities(trx: Kysely<Database>, refs: readonly IdentityRef[], graphExclusive: boolean): Promise<FoundIdentity[]> {
  const { rows } = await sql<FoundIdentity>`
    select * from tally_lock_and_read_identities(${JSON.stringify(refs)}::jsonb, ${GRAPH_LOCK[0]}, ${GRAPH_LOCK[1]}, ${graphExclusive},
      ${IDENTITY_LOCK_SLOTS.key}, ${IDENTITY_LOCK_SLOTS.count}, ${IDENTITY_LOCKS_PER_BATCH})`.execute(trx);
  return rows;
}

/** Takes the identity graph lock until the end of the transaction. */
export async function lockIdentityGraph(trx: Kysely<Database>, mode: 'shared' | 'exclusive'): Promise<void> {
  if (mode === 'exclusive') await sql`select pg_advisory_xact_lock(${GRAPH_LOCK[0]}, ${GRAPH_LOCK[1]})`.execute(trx);
  else await sql`select pg_advisory_xact_lock_shared(${GRAPH_LOCK[0]}, ${GRAPH_LOCK[1]})`.execute(trx);
}

/** A stored customer row as merging folds it into its survivor. */
export type StoredCustomer = CustomerRow;

/** Reads and row-locks the customers `ids`, in id order (so that two merges lock them alike). */
export async function lockCustomers(trx: Kysely<Database>, ids: readonly string[]): Promise<StoredCustomer[]> {
  const { rows } = await sql<StoredCustomer>`
    select id, traits, trait_timestamps, trait_sources, first_seen_at, last_seen_at, identified_at from customers
    where id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))
    order by id
    for update`.execute(trx);
  return rows;
}

// The rule of `compareTraits` (identity/stitch-plan.ts) against the stored value: a server
// source's value beats a client's, and within a kind the newer one wins.
const TRAIT_REPLACES = sql`coalesce(
  ((excluded.trait_sources -> t.key ->> 'kind') is not distinct from 'server', (excluded.trait_timestamps ->> t.key)::timestamptz)
  >= ((c.trait_sources -> t.key ->> 'kind') is not distinct from 'server', (c.trait_timestamps ->> t.key)::timestamptz), true)`;

/**
 * Creates the new customers and merges traits into the known ones, per key as `compareTraits`
 * says (also against values written by earlier batches), recording which source set each.
 * Rows go in id order so that two batches updating the same customers lock them in the same
 * order. An `insert … returning 1`, to run alone or as a `with` clause.
 */
export function upsertCustomers(customers: readonly CustomerPatch[]): RawBuilder<unknown> {
  return sql`
    insert into customers as c (id, traits, trait_timestamps, trait_sources, first_seen_at, last_seen_at, identified_at)
    select id, traits, trait_timestamps, trait_sources, first_seen_at, last_seen_at, identified_at
    from jsonb_to_recordset(${JSON.stringify(customers)}::jsonb)
      as p(id uuid, traits jsonb, trait_timestamps jsonb, trait_sources jsonb, first_seen_at timestamptz, last_seen_at timestamptz, identified_at timestamptz)
    on conflict (id) do update set
      traits = c.traits || coalesce((
        select jsonb_object_agg(t.key, t.value) from jsonb_each(excluded.traits) as t where ${TRAIT_REPLACES}
      ), '{}'),
      trait_timestamps = c.trait_timestamps || coalesce((
        select jsonb_object_agg(t.key, excluded.trait_timestamps -> t.key) from jsonb_each(excluded.traits) as t where ${TRAIT_REPLACES}
      ), '{}'),
      trait_sources = c.trait_sources || coalesce((
        select jsonb_object_agg(t.key, excluded.trait_sources -> t.key) from jsonb_each(excluded.traits) as t where ${TRAIT_REPLACES}
      ), '{}'),
      first_seen_at = least(c.first_seen_at, excluded.first_seen_at),
      last_seen_at = greatest(c.last_seen_at, excluded.last_seen_at),
      identified_at = least(c.identified_at, excluded.identified_at)
    returning 1`;
}

/** Points every identity at its customer after the batch, creating the new ones. An `insert … returning 1`, like `upsertCustomers`. */
export function upsertIdentities(identities: readonly IdentityWrite[]): RawBuilder<unknown> {
  return sql`
    insert into identities as i (kind, source_id, value, customer_id, first_seen_at, last_seen_at)
    select kind, source_id, value, customer_id, first_seen_at, last_seen_at
    from jsonb_to_recordset(${JSON.stringify(identities)}::jsonb)
      as r(kind text, source_id text, value text, customer_id uuid, first_seen_at timestamptz, last_seen_at timestamptz)
    on conflict (kind, value) do update set
      customer_id = excluded.customer_id,
      first_seen_at = least(i.first_seen_at, excluded.first_seen_at),
      last_seen_at = greatest(i.last_seen_at, excluded.last_seen_at)
    returning 1`;
}

/**
 * Moves the identities and events of each merged-away customer to the customer it ends in,
 * and records `merges` in `identity_merges`, in one statement: each merge of a stored customer
 * is recorded with the identities and event ids that moved off it (gathered from the moving
 * updates themselves, so recording costs no second scan). The updates walk
 * `identities_customer` and `events_customer_timestamp`: they touch only the merged
 * customers' rows, however large the events table grows.
 */
export async function moveMergedCustomers(
  trx: Kysely<Database>,
  mergedAway: readonly { from_customer_id: string; into_customer_id: string }[],
  merges: readonly (MergeRecord & { merged_customer: MergedCustomerRow | null; survivor_before: MergedCustomerRow | null })[],
): Promise<void> {
  const mergedJson = JSON.stringify(mergedAway);
  await sql`
    with moved_identities as (
      update identities i set customer_id = m.into_customer_id
      from jsonb_to_recordset(${mergedJson}::jsonb) as m(from_customer_id uuid, into_customer_id uuid)
      where i.customer_id = m.from_customer_id
      returning i.kind, i.value, m.from_customer_id
    ),
    moved_events as (
      update events e set customer_id = m.into_customer_id
      from jsonb_to_recordset(${mergedJson}::jsonb) as m(from_customer_id uuid, into_customer_id uuid)
      where e.customer_id = m.from_customer_id
      returning e.id, m.from_customer_id
    )
    insert into identity_merges (from_customer_id, into_customer_id, reason, source_id, message_id,
      merged_customer, survivor_before, moved_identities, moved_event_ids)
    select r.from_customer_id, r.into_customer_id, r.reason, r.source_id, r.message_id, r.merged_customer, r.survivor_before,
      case when r.merged_customer is not null then coalesce((
        select jsonb_agg(jsonb_build_object('kind', mi.kind, 'value', mi.value) order by mi.kind, mi.value)
        from moved_identities mi where mi.from_customer_id = r.from_customer_id), '[]') end,
      case when r.merged_customer is not null then coalesce((
        select array_agg(me.id order by me.id) from moved_events me where me.from_customer_id = r.from_customer_id), '{}') end
    from jsonb_to_recordset(${JSON.stringify(merges.map((merge, ord) => ({ ...merge, ord })))}::jsonb)
      as r(from_customer_id uuid, into_customer_id uuid, reason text, source_id text, message_id text,
        merged_customer jsonb, survivor_before jsonb, ord integer)
    order by r.ord`.execute(trx);
}

/** Deletes the customers `ids` (merged away, their identities and events already moved). */
export async function deleteCustomers(trx: Kysely<Database>, ids: readonly string[]): Promise<void> {
  await sql`
    delete from customers
    where id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`.execute(trx);
}

/** Records merges and re-links in `identity_merges`. */
export async function insertMerges(trx: Kysely<Database>, merges: readonly MergeRecord[]): Promise<void> {
  if (merges.length > 0) await trx.insertInto('identity_merges').values([...merges]).execute();
}
