import { sql, type Kysely } from 'kysely';

// The identity graph. A customer is a row of `customers`; every anonymousId and userId seen
// (per source) is a row of `identities` pointing at exactly one customer; every merge and
// every re-link of an anonymousId is a row of `identity_merges`. `deletion_log` records that a
// right-to-be-forgotten deletion happened, never what it deleted.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table customers (
      id uuid primary key,
      traits jsonb not null default '{}',
      -- Per trait key, the timestamp of the identify that set it, so that a late, older
      -- identify never overwrites a newer value.
      trait_timestamps jsonb not null default '{}',
      first_seen_at timestamptz not null,
      last_seen_at timestamptz not null,
      identified_at timestamptz
    );

    create table identities (
      kind text not null check (kind in ('anonymous', 'user')),
      source_id text not null,
      value text not null,
      customer_id uuid not null references customers (id),
      first_seen_at timestamptz not null,
      last_seen_at timestamptz not null,
      primary key (kind, source_id, value)
    );
    create index identities_customer on identities (customer_id);

    create table identity_merges (
      id bigint generated always as identity primary key,
      from_customer_id uuid not null,
      into_customer_id uuid not null,
      -- 'identify': an anonymous customer merged into a known one; 'alias': two customers merged
      -- by alias(); 'anonymous_id_relinked': a shared browser's anonymousId moved to another
      -- known customer from now on, the customers themselves not merged.
      reason text not null check (reason in ('identify', 'alias', 'anonymous_id_relinked')),
      source_id text not null,
      message_id text not null,
      merged_at timestamptz not null default now()
    );
    create index identity_merges_from on identity_merges (from_customer_id);
    create index identity_merges_into on identity_merges (into_customer_id);

    create table deletion_log (
      id bigint generated always as identity primary key,
      deleted_at timestamptz not null default now(),
      channel text not null,
      actor text,
      customers_deleted integer not null,
      identities_deleted integer not null,
      events_deleted integer not null,
      merges_deleted integer not null
    );

    -- The first step of stitching a batch, in one round trip: takes the identity graph lock
    -- (shared, or exclusive for a batch that merges known customers) and a transaction-scoped
    -- advisory lock per identity of the batch (existing or not, in key order, so that two
    -- batches sharing identities never deadlock), then reads those identities that exist with
    -- what stitching needs of their customers. Each statement of a plpgsql function reads with
    -- a snapshot of its own, so the read sees whatever a batch this one waited for committed.
    create function tally_stitch_lock_and_read(refs jsonb, graph_key integer, graph_subkey integer, graph_exclusive boolean)
    returns table (
      o_kind text, o_source_id text, o_value text, o_customer_id uuid,
      o_identity_first_seen_at timestamptz, o_identity_last_seen_at timestamptz,
      o_customer_first_seen_at timestamptz, o_customer_last_seen_at timestamptz, o_identified_at timestamptz
    )
    language plpgsql volatile as $fn$
    begin
      if graph_exclusive then
        perform pg_advisory_xact_lock(graph_key, graph_subkey);
      else
        perform pg_advisory_xact_lock_shared(graph_key, graph_subkey);
      end if;
      perform count(pg_advisory_xact_lock(sorted_keys.lock_key)) from (
        select distinct hashtextextended(r.kind || ':' || r.source_id || ':' || r.value, 0) as lock_key
        from jsonb_to_recordset(refs) as r(kind text, source_id text, value text)
        order by lock_key
      ) as sorted_keys;
      return query
        select i.kind, i.source_id, i.value, i.customer_id, i.first_seen_at, i.last_seen_at,
          c.first_seen_at, c.last_seen_at, c.identified_at
        from jsonb_to_recordset(refs) as r(kind text, source_id text, value text)
        join identities i on i.kind = r.kind and i.source_id = r.source_id and i.value = r.value
        join customers c on c.id = i.customer_id;
    end
    $fn$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function tally_stitch_lock_and_read; drop table deletion_log; drop table identity_merges; drop table identities; drop table customers;`.execute(db);
}
