import { sql, type Kysely } from 'kysely';

// Stitching's locks without false sharing. With every identity hashed onto one of 512 lock
// slots, two transactions whose identities merely shared a slot waited for each other; with
// a few write transactions in flight, the collector benchmark's backends spent 10–20 % of
// their busy time waiting on those advisory locks (collector/README.md, "Throughput").
//
// `tally_lock_and_read_identities` locks a batch of at most `identity_limit` identities one
// lock per identity (a bigint key hashed from kind and value, so two batches wait for each
// other only over a shared identity) after taking the graph lock shared and the batch's slots
// *shared*; a larger batch, or one that merges known customers, takes the graph lock
// exclusively instead and needs nothing else. A transaction still holds at most
// 2 × identity_limit + 1 advisory locks. The shared slot locks make the new locking exclude
// collectors still running `tally_identity_lock_and_read` (which take the slots exclusively)
// during a rolling upgrade; that function stays for them.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function tally_lock_and_read_identities(
      refs jsonb, graph_key integer, graph_subkey integer, graph_exclusive boolean, slot_key integer, slot_count integer,
      identity_limit integer
    )
    returns table (
      o_kind text, o_value text, o_customer_id uuid,
      o_identity_first_seen_at timestamptz, o_identity_last_seen_at timestamptz,
      o_customer_first_seen_at timestamptz, o_customer_last_seen_at timestamptz, o_identified_at timestamptz
    )
    language plpgsql volatile as $fn$
    begin
      if graph_exclusive or jsonb_array_length(refs) > identity_limit then
        perform pg_advisory_xact_lock(graph_key, graph_subkey);
      else
        perform pg_advisory_xact_lock_shared(graph_key, graph_subkey);
        -- Slots first, then identities, each in key order: no two batches deadlock.
        perform count(pg_advisory_xact_lock_shared(slot_key, slots.slot)) from (
          select distinct (abs(hashtextextended(r.kind || ':' || r.value, 0)) % slot_count)::integer as slot
          from jsonb_to_recordset(refs) as r(kind text, value text)
          order by slot
        ) as slots;
        perform count(pg_advisory_xact_lock(keys.identity_key)) from (
          select distinct hashtextextended('tally-identity:' || r.kind || ':' || r.value, 0) as identity_key
          from jsonb_to_recordset(refs) as r(kind text, value text)
          order by identity_key
        ) as keys;
      end if;
      return query
        select i.kind, i.value, i.customer_id, i.first_seen_at, i.last_seen_at,
          c.first_seen_at, c.last_seen_at, c.identified_at
        from jsonb_to_recordset(refs) as r(kind text, value text)
        join identities i on i.kind = r.kind and i.value = r.value
        join customers c on c.id = i.customer_id;
    end
    $fn$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function tally_lock_and_read_identities(jsonb, integer, integer, boolean, integer, integer, integer)`.execute(db);
}
