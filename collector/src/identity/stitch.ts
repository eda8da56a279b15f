import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema/database.js';
import { lockIdentityGraph } from './graph-lock.js';
import {
  foldStoredCustomer,
  identitiesOfBatch,
  isEffectiveAlias,
  planStitch,
  type StitchInput,
  type StoredIdentity,
} from './stitch-plan.js';

export type { StitchInput } from './stitch-plan.js';

// Locking, and why advisory locks rather than row locks:
//
// The rows that concurrent write transactions fight over are mostly rows that do not exist
// yet: two requests identifying the same new anonymousId would both find no identity, both
// create a customer, and one would lose. `SELECT … FOR UPDATE` cannot lock a row that is not
// there, so every transaction first takes a transaction-scoped advisory lock per identity it
// will read or write (kind, source, value), existing or not, in sorted order so that two
// batches sharing identities can never deadlock, and then reads the graph. A second batch
// touching one of those identities waits until the first commits and then reads its result:
// the graph ends as if the batches had run one by one.
//
// An identify only ever merges away an anonymous customer, which has a single identity (its
// anonymousId, locked above), so nobody else can be attributing events to it meanwhile.
// alias() may merge away a known customer whose other identities this batch has not locked;
// such batches take the graph lock exclusively, all others take it shared, so a merge of two
// known customers waits for the batches in flight and they wait for it. alias is rare; the
// cost is paid only by batches that contain one.

/**
 * Resolves the customer of every event, inside the write transaction that stores them,
 * and returns their customer ids in the same order. Creates the customers and identities
 * the batch needs, links anonymousIds to userIds, merges anonymous customers into the
 * user's (re-pointing their stored events), merges known customers on alias(), merges
 * identify traits, and records every merge in `identity_merges` (DESIGN.md §3).
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
  const refs = identitiesOfBatch(events);
  if (refs.length === 0) return events.map(() => null);

  await lockIdentityGraph(trx, events.some(isEffectiveAlias) ? 'exclusive' : 'shared');

  const refsJson = JSON.stringify(refs);
  await sql`
    select count(pg_advisory_xact_lock(lock_key)) from (
      select distinct hashtextextended(r.kind || ':' || r.source_id || ':' || r.value, 0) as lock_key
      from jsonb_to_recordset(${refsJson}::jsonb) as r(kind text, source_id text, value text)
      order by lock_key
    ) as sorted_keys`.execute(trx);

  const { rows: stored } = await sql<StoredIdentity>`
    select i.kind, i.source_id, i.value, i.customer_id, c.identified_at is not null as identified
    from jsonb_to_recordset(${refsJson}::jsonb) as r(kind text, source_id text, value text)
    join identities i on i.kind = r.kind and i.source_id = r.source_id and i.value = r.value
    join customers c on c.id = i.customer_id`.execute(trx);

  const plan = planStitch(events, stored);

  if (plan.mergedAway.length > 0) {
    const { rows: mergedRows } = await sql<{
      id: string;
      traits: Record<string, unknown>;
      trait_timestamps: Record<string, unknown>;
      first_seen_at: Date;
      last_seen_at: Date;
      identified_at: Date | null;
    }>`
      select id, traits, trait_timestamps, first_seen_at, last_seen_at, identified_at from customers
      where id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(plan.mergedAway.map((m) => m.from_customer_id))}::jsonb))
      order by id
      for update`.execute(trx);
    const survivorOf = new Map(plan.mergedAway.map((m) => [m.from_customer_id, m.into_customer_id]));
    for (const row of mergedRows) foldStoredCustomer(plan.customers.get(survivorOf.get(row.id)!)!, row);
  }

  // One upsert creates the new customers and merges traits into the known ones, per key the
  // newest timestamp winning (also against values written by earlier batches). Rows go in id
  // order so that two batches updating the same customers lock them in the same order.
  await sql`
    insert into customers as c (id, traits, trait_timestamps, first_seen_at, last_seen_at, identified_at)
    select id, traits, trait_timestamps, first_seen_at, last_seen_at, identified_at
    from jsonb_to_recordset(${JSON.stringify([...plan.customers.values()])}::jsonb)
      as p(id uuid, traits jsonb, trait_timestamps jsonb, first_seen_at timestamptz, last_seen_at timestamptz, identified_at timestamptz)
    on conflict (id) do update set
      traits = c.traits || coalesce((
        select jsonb_object_agg(t.key, t.value) from jsonb_each(excluded.traits) as t
        where coalesce((c.trait_timestamps ->> t.key)::timestamptz <= (excluded.trait_timestamps ->> t.key)::timestamptz, true)
      ), '{}'),
      trait_timestamps = c.trait_timestamps || coalesce((
        select jsonb_object_agg(t.key, excluded.trait_timestamps -> t.key) from jsonb_each(excluded.traits) as t
        where coalesce((c.trait_timestamps ->> t.key)::timestamptz <= (excluded.trait_timestamps ->> t.key)::timestamptz, true)
      ), '{}'),
      first_seen_at = least(c.first_seen_at, excluded.first_seen_at),
      last_seen_at = greatest(c.last_seen_at, excluded.last_seen_at),
      identified_at = least(c.identified_at, excluded.identified_at)`.execute(trx);

  if (plan.mergedAway.length > 0) {
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

  await sql`
    insert into identities as i (kind, source_id, value, customer_id, first_seen_at, last_seen_at)
    select kind, source_id, value, customer_id, first_seen_at, last_seen_at
    from jsonb_to_recordset(${JSON.stringify(plan.identities)}::jsonb)
      as r(kind text, source_id text, value text, customer_id uuid, first_seen_at timestamptz, last_seen_at timestamptz)
    on conflict (kind, source_id, value) do update set
      customer_id = excluded.customer_id,
      first_seen_at = least(i.first_seen_at, excluded.first_seen_at),
      last_seen_at = greatest(i.last_seen_at, excluded.last_seen_at)`.execute(trx);

  if (plan.mergedAway.length > 0) {
    await sql`
      delete from customers
      where id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(plan.mergedAway.map((m) => m.from_customer_id))}::jsonb))`.execute(trx);
  }

  if (plan.merges.length > 0) {
    await trx.insertInto('identity_merges').values(plan.merges).execute();
  }

  return plan.customerIds;
}
