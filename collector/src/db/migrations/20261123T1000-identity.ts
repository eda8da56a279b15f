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
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table deletion_log; drop table identity_merges; drop table identities; drop table customers;`.execute(db);
}
