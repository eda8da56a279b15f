import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema/database.js';
import { GRAPH_LOCK, IDENTITY_LOCK_SLOTS } from './graph-lock.js';
import {
  foldStoredCustomer,
  identitiesOfBatch,
  identityKey,
  isEffectiveAlias,
  planStitch,
  type CustomerPatch,
  type IdentityKind,
  type IdentityWrite,
  type StitchInput,
  type StitchPlan,
  type StoredIdentity,
} from './stitch-plan.js';

export type { SourceKind, StitchInput } from './stitch-plan.js';

// Locking, and why advisory locks rather than row locks:
//
// The rows that concurrent write transactions fight over are mostly rows that do not exist
// yet: two requests identifying the same new anonymousId would both find no identity, both
// create a customer, and one would lose. `SELECT … FOR UPDATE` cannot lock a row that is not
// there, so every transaction first takes transaction-scoped advisory locks covering every
// identity it will read or write (kind, value), existing or not, and then reads the graph. A
// second batch touching one of those identities waits until the first commits and then reads
// its result: the graph ends as if the batches had run one by one.
//
// Identities hash onto a fixed number of lock slots (`IDENTITY_LOCK_SLOTS`), and a batch locks
// the slots of its identities, in slot order so that two batches can never deadlock. Advisory
// locks live in Postgres's shared lock table (about max_locks_per_transaction × max_connections
// entries for the whole server); one lock per identity let a few batches of thousands of
// aliases exhaust it (`out of shared memory`). With slots a transaction holds at most
// IDENTITY_LOCK_SLOTS + 1 advisory locks however large its batch; the price is that two
// batches whose identities merely share a slot wait for each other, which is harmless: the
// second one reads what the first committed.
//
// An identify only ever merges away an anonymous customer, which has a single identity (its
// anonymousId, locked above), so nobody else can be attributing events to it meanwhile.
// alias() may merge away a known customer whose other identities this batch has not locked;
// such batches take the graph lock exclusively, all others take it shared, so a merge of two
// known customers waits for the batches in flight and they wait for it. alias is rare; the
// cost is paid only by batches that contain one.
//
// Both kinds of lock and the read are one round trip, `tally_identity_lock_and_read` (see the
// workspace-identities migration), whose read runs with a snapshot taken after the locks were granted.
// A batch of visitors already known then writes no identity rows at all: customer and
// identity rows are written only when they change (`last_seen_at` in steps of 30 s).

/**
 * Resolves the customer of every event, inside the write transaction that stores them,
 * and returns their customer ids in the same order. Creates the customers and identities
 * the batch needs, links anonymousIds to userIds, merges anonymous customers into the
 * user's (re-pointing their stored events), merges known customers on alias(), merges
 * identify traits, and records every merge in `identity_merges` (docs/design.md §3).
 *
 * The events themselves are inserted by the caller afterwards, in the same transaction,
 * with the ids returned. Placeholder ids ('anonymous', 'null', '0', …) count as absent;
 * an event left with no usable id gets `null`.
 *
 * @example
 * await database.db.transaction().execute(async (trx) => {
 *   const customerIds = await stitchIdentities(trx, rows);
 *   await trx.insertInto('events').values(rows.map((row, i) => ({ ...row, customer_id: customerIds[i] })))
 *     .onConflict((oc) => oc.doNothing()).execute();
 * });
 */
export async function stitchIdentities(trx: Kysely<Database>, events: readonly StitchInput[]): Promise<(string | null)[]> {
  const { customerIds, pendingWrites } = await resolveIdentities(trx, events);
  const [first, second] = pendingWrites;
  if (first !== undefined) await (second === undefined ? first : sql`with upserted_customers as (${first}) ${second}`).execute(trx);
  return customerIds;
}

/** The outcome of `resolveIdentities`. */
export interface ResolvedIdentities {
  /** The customer of each input event, in input order (null: no usable id). */
  customerIds: (string | null)[];
  /**
   * The customer and identity upserts the batch still needs, in this order, each an
   * `insert … returning 1` the caller must run in the same transaction: as top-level `with`
   * clauses of its events insert (Postgres checks the foreign key from identities to
   * customers at the end of the statement), or one after the other. Empty when nothing is
   * left to write.
   */
  pendingWrites: RawBuilder<unknown>[];
}

/**
 * `stitchIdentities` in the fewest round trips: one statement locks and reads the batch's
 * identities; a batch without merges (nearly all) leaves its few writes to the caller, to be
 * sent with the events insert, while a batch that merges customers writes everything here.
 */
export async function resolveIdentities(trx: Kysely<Database>, events: readonly StitchInput[]): Promise<ResolvedIdentities> {
  const refs = identitiesOfBatch(events);
  if (refs.length === 0) return { customerIds: events.map(() => null), pendingWrites: [] };

  // Graph lock, identity locks and the read, in one round trip (see the migration).
  const refsJson = JSON.stringify(refs);
  const { rows: found } = await sql<FoundIdentity>`
    select * from tally_identity_lock_and_read(${refsJson}::jsonb, ${GRAPH_LOCK[0]}, ${GRAPH_LOCK[1]}, ${events.some(isEffectiveAlias)},
      ${IDENTITY_LOCK_SLOTS.key}, ${IDENTITY_LOCK_SLOTS.count})`.execute(trx);
  const stored: StoredIdentity[] = found.map((row) => ({
    kind: row.o_kind,
    value: row.o_value,
    customer_id: row.o_customer_id,
    identified: row.o_identified_at !== null,
  }));

  const plan = planStitch(events, stored);

  if (plan.mergedAway.length === 0) {
    // The common case: nothing merged, so customers and identities are upserted together,
    // and only the rows that change (see `changedRows`): an event of a visitor already known
    // writes nothing here.
    const changed = changedRows(plan, found);
    if (plan.merges.length > 0) await trx.insertInto('identity_merges').values(plan.merges).execute();
    const pendingWrites: RawBuilder<unknown>[] = [];
    if (changed.customers.length > 0) pendingWrites.push(upsertCustomers(changed.customers));
    if (changed.identities.length > 0) pendingWrites.push(upsertIdentities(changed.identities));
    return { customerIds: plan.customerIds, pendingWrites };
  }

  // Merges: the slower path, statement by statement.
  {
    const { rows: mergedRows } = await sql<{
      id: string;
      traits: Record<string, unknown>;
      trait_timestamps: Record<string, unknown>;
      trait_sources: Record<string, unknown>;
      first_seen_at: Date;
      last_seen_at: Date;
      identified_at: Date | null;
    }>`
      select id, traits, trait_timestamps, trait_sources, first_seen_at, last_seen_at, identified_at from customers
      where id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(plan.mergedAway.map((m) => m.from_customer_id))}::jsonb))
      order by id
      for update`.execute(trx);
    const survivorOf = new Map(plan.mergedAway.map((m) => [m.from_customer_id, m.into_customer_id]));
    for (const row of mergedRows) foldStoredCustomer(plan.customers.get(survivorOf.get(row.id)!)!, row);
  }

  await upsertCustomers([...plan.customers.values()]).execute(trx);

  {
    // Re-pointing walks `identities_customer` and `events_customer_timestamp`: it touches
    // only the merged customers' rows, however large the events table grows.
    const mergedJson = JSON.stringify(plan.mergedAway);
    await sql`
      update identities i set customer_id = m.into_customer_id
      from jsonb_to_recordset(${mergedJson}::jsonb) as m(from_customer_id uuid, into_customer_id uuid)
      where i.customer_id = m.from_customer_id`.execute(trx);
    await sql`
      update events e set customer_id = m.into_customer_id
      from jsonb_to_recordset(${mergedJson}::jsonb) as m(from_customer_id uuid, into_customer_id uuid)
      where e.customer_id = m.from_customer_id`.execute(trx);
  }

  await upsertIdentities(plan.identities).execute(trx);

  await sql`
    delete from customers
    where id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(plan.mergedAway.map((m) => m.from_customer_id))}::jsonb))`.execute(trx);

  if (plan.merges.length > 0) {
    await trx.insertInto('identity_merges').values(plan.merges).execute();
  }

  return { customerIds: plan.customerIds, pendingWrites: [] };
}

/** One row of `tally_stitch_lock_and_read`: a stored identity and its customer. */
interface FoundIdentity {
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
 * How far behind the newest event `last_seen_at` may lag. A visitor sends an event every
 * few seconds; rewriting their customer and identity rows for each batch would cost a write
 * and a row lock per batch for a figure nobody reads to the second, so it moves only once
 * the batch's events are at least this much newer than the stored value.
 */
export const LAST_SEEN_RESOLUTION_MS = 30_000;

/**
 * The customer and identity rows of a plan without merges that the batch actually changes:
 * new ones, identities moving to another customer, customers getting traits or becoming
 * identified, earlier first-seen times (late events), and last-seen times moving by at
 * least `LAST_SEEN_RESOLUTION_MS`.
 */
function changedRows(plan: StitchPlan, found: readonly FoundIdentity[]): { customers: CustomerPatch[]; identities: IdentityWrite[] } {
  const storedCustomers = new Map<string, FoundIdentity>();
  const storedIdentities = new Map<string, FoundIdentity>();
  for (const row of found) {
    storedCustomers.set(row.o_customer_id, row);
    storedIdentities.set(identityKey({ kind: row.o_kind, value: row.o_value }), row);
  }
  const customers = [...plan.customers.values()].filter((patch) => {
    const stored = storedCustomers.get(patch.id);
    if (stored === undefined) return true;
    if (Object.keys(patch.traits).length > 0) return true;
    if (patch.identified_at !== null && (stored.o_identified_at === null || Date.parse(patch.identified_at) < stored.o_identified_at.getTime())) return true;
    return seenMoved(patch, stored.o_customer_first_seen_at, stored.o_customer_last_seen_at);
  });
  const identities = plan.identities.filter((identity) => {
    const stored = storedIdentities.get(identityKey(identity));
    if (stored === undefined || stored.o_customer_id !== identity.customer_id) return true;
    return seenMoved(identity, stored.o_identity_first_seen_at, stored.o_identity_last_seen_at);
  });
  return { customers, identities };
}

function seenMoved(patch: { first_seen_at: string; last_seen_at: string }, firstSeen: Date, lastSeen: Date): boolean {
  return Date.parse(patch.first_seen_at) < firstSeen.getTime() || Date.parse(patch.last_seen_at) - lastSeen.getTime() >= LAST_SEEN_RESOLUTION_MS;
}

// The rule of `compareTraits` (stitch-plan.ts) against the stored value: a server source's
// value beats a client's, and within a kind the newer one wins.
const TRAIT_REPLACES = sql`coalesce(
  ((excluded.trait_sources -> t.key ->> 'kind') is not distinct from 'server', (excluded.trait_timestamps ->> t.key)::timestamptz)
  >= ((c.trait_sources -> t.key ->> 'kind') is not distinct from 'server', (c.trait_timestamps ->> t.key)::timestamptz), true)`;

/**
 * Creates the new customers and merges traits into the known ones, per key as `compareTraits`
 * says (also against values written by earlier batches), recording which source set each.
 * Rows go in id order so that two batches updating the same customers lock them in the same order.
 * Customer imports write their customers with it too (`db/import-store.ts`).
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

/** Points every identity at its customer after the batch, creating the new ones. */
function upsertIdentities(identities: readonly IdentityWrite[]): RawBuilder<unknown> {
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
