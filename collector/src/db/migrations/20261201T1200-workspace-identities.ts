import { sql, type Kysely } from 'kysely';

// Identities belong to the workspace, not to a source (docs/design.md §3): the same userId sent by
// the website, the app and a server is one identity and one customer.
//
// Existing data held one identity per (kind, source, value). Where one value was stored for
// several sources, those rows become one identity, and their customers are merged as follows:
// - one userId on several sources: every customer holding it is one person; they merge into
//   the best of them (identified first, earliest identified, earliest seen, lowest id);
// - one anonymousId on several sources (the same device through two sources): customers never
//   identified merge into the customer that last used it (an identified one if any), while two
//   identified customers are never merged (rule 4): the anonymousId follows the one that used
//   it last, and the re-link is recorded as `anonymous_id_relinked`.
// Every merge re-points the merged customer's identities and events, folds its traits into the
// survivor (newest value per key), and is recorded in `identity_merges` with the reason
// `workspace_identity`. `identities.source_id` stays, meaning the source that first sent it.
//
// Also: `customers.trait_sources` (which source, of which kind, set each trait), the lock-and-
// read of stitching over workspace identities with a bounded number of locks, and
// `customer_profiles` showing every trait.

const MIGRATION_MESSAGE_ID = 'migration:20261201T1200-workspace-identities';

interface IdentityRow {
  kind: string;
  source_id: string;
  value: string;
  customer_id: string;
  first_seen_at: Date;
  last_seen_at: Date;
}

interface CustomerRow {
  id: string;
  traits: Record<string, unknown>;
  trait_timestamps: Record<string, unknown>;
  first_seen_at: Date;
  last_seen_at: Date;
  identified_at: Date | null;
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table customers add column trait_sources jsonb not null default '{}';
    alter table identity_merges drop constraint identity_merges_reason_check;
    alter table identity_merges add constraint identity_merges_reason_check
      check (reason in ('identify', 'alias', 'anonymous_id_relinked', 'workspace_identity'));
  `.execute(db);

  await mergeAcrossSources(db);

  await sql`
    alter table identities drop constraint identities_pkey;
    alter table identities add primary key (kind, value);
    comment on column identities.source_id is 'The source that first sent this identity.';
    drop function tally_stitch_lock_and_read;

    -- The first step of stitching a batch, in one round trip: takes the identity graph lock
    -- (shared, or exclusive for a batch that merges known customers), then one advisory lock
    -- per lock slot the batch's identities hash to (in slot order, so that two batches never
    -- deadlock), then reads those identities that exist with what stitching needs of their
    -- customers. Identities share a bounded number of slots so that a transaction holds at
    -- most slot_count + 1 advisory locks however large its batch: one lock per identity ran
    -- Postgres's shared lock table out of memory on batches of thousands of aliases. Each
    -- statement of a plpgsql function reads with a snapshot of its own, so the read sees
    -- whatever a batch this one waited for committed.
    create function tally_identity_lock_and_read(
      refs jsonb, graph_key integer, graph_subkey integer, graph_exclusive boolean, slot_key integer, slot_count integer
    )
    returns table (
      o_kind text, o_value text, o_customer_id uuid,
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
      perform count(pg_advisory_xact_lock(slot_key, slots.slot)) from (
        select distinct (abs(hashtextextended(r.kind || ':' || r.value, 0)) % slot_count)::integer as slot
        from jsonb_to_recordset(refs) as r(kind text, value text)
        order by slot
      ) as slots;
      return query
        select i.kind, i.value, i.customer_id, i.first_seen_at, i.last_seen_at,
          c.first_seen_at, c.last_seen_at, c.identified_at
        from jsonb_to_recordset(refs) as r(kind text, value text)
        join identities i on i.kind = r.kind and i.value = r.value
        join customers c on c.id = i.customer_id;
    end
    $fn$;
  `.execute(db);

  await createCustomerProfiles(db, true);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Merges done by `up` are not undone: the per-source rows they replaced are gone.
  await sql`
    drop function tally_identity_lock_and_read;
    alter table identities drop constraint identities_pkey;
    alter table identities add primary key (kind, source_id, value);
    comment on column identities.source_id is null;
    drop view customer_profiles;
  `.execute(db);
  await createCustomerProfiles(db, false);
  await sql`
    alter table customers drop column trait_sources;
    alter table identity_merges drop constraint identity_merges_reason_check;
    -- Rows merged by the workspace migration keep their reason: the old check, not validated.
    alter table identity_merges add constraint identity_merges_reason_check
      check (reason in ('identify', 'alias', 'anonymous_id_relinked')) not valid;

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

/** Makes one identity of each value stored for several sources, merging their customers. */
async function mergeAcrossSources(db: Kysely<any>): Promise<void> {
  // Only values stored for more than one source need anything done: usually very few rows.
  const { rows: shared } = await sql<IdentityRow>`
    select i.kind, i.source_id, i.value, i.customer_id, i.first_seen_at, i.last_seen_at
    from identities i
    where (i.kind, i.value) in (select kind, value from identities group by kind, value having count(*) > 1)
    order by i.kind desc, i.value, i.first_seen_at, i.source_id`.execute(db);
  if (shared.length === 0) return;

  const customerIds = [...new Set(shared.map((row) => row.customer_id))];
  const { rows: customerRows } = await sql<CustomerRow>`
    select id, traits, trait_timestamps, first_seen_at, last_seen_at, identified_at from customers
    where id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(customerIds)}::jsonb))`.execute(db);
  const customers = new Map(customerRows.map((row) => [row.id, row]));

  const parent = new Map<string, string>();
  const find = (id: string): string => {
    let root = id;
    while (parent.has(root)) root = parent.get(root)!;
    return root;
  };
  const mergedBy = new Map<string, string>(); // merged customer → source of the identity that merged it
  const relinks: { from: string; into: string; source_id: string }[] = [];
  const better = (a: string, b: string): string => (rank(customers.get(a)!) <= rank(customers.get(b)!) ? a : b);

  // 'user' rows come first (ordered by kind desc): people are merged before devices are assigned.
  const groups = new Map<string, IdentityRow[]>();
  for (const row of shared) {
    const key = `${row.kind}\u0000${row.value}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const owners = new Map<string, string>();
  for (const [key, rows] of groups) {
    const roots = [...new Set(rows.map((row) => find(row.customer_id)))];
    let owner: string;
    if (rows[0]!.kind === 'user') {
      owner = roots.reduce(better);
      for (const root of roots) if (root !== owner) mergedBy.set(root, rows.find((r) => find(r.customer_id) === root)!.source_id);
      for (const root of roots) if (root !== owner) parent.set(root, owner);
    } else {
      const latestFirst = [...rows].sort((a, b) => b.last_seen_at.getTime() - a.last_seen_at.getTime());
      const identified = latestFirst.find((row) => isIdentified(customers.get(find(row.customer_id))!));
      owner = find((identified ?? latestFirst[0]!).customer_id);
      for (const root of roots) {
        if (root === owner) continue;
        const source = rows.find((r) => find(r.customer_id) === root)!.source_id;
        if (isIdentified(customers.get(root)!)) relinks.push({ from: root, into: owner, source_id: source });
        else {
          mergedBy.set(root, source);
          parent.set(root, owner);
        }
      }
    }
    owners.set(key, owner);
  }

  // Survivors take the merged customers' traits (newest per key) and times.
  const merges = [...mergedBy.keys()].map((from) => ({ from, into: find(from), source_id: mergedBy.get(from)! }));
  const survivors = new Map<string, CustomerRow>();
  for (const { from, into } of merges) {
    const survivor = survivors.get(into) ?? structuredClone(customers.get(into)!);
    foldCustomer(survivor, customers.get(from)!);
    survivors.set(into, survivor);
  }
  const identities = [...groups].map(([key, rows]) => ({
    kind: rows[0]!.kind,
    value: rows[0]!.value,
    source_id: rows[0]!.source_id,
    customer_id: find(owners.get(key)!),
    first_seen_at: new Date(Math.min(...rows.map((r) => r.first_seen_at.getTime()))).toISOString(),
    last_seen_at: new Date(Math.max(...rows.map((r) => r.last_seen_at.getTime()))).toISOString(),
  }));
  const moves = JSON.stringify(merges.map(({ from, into }) => ({ from_customer_id: from, into_customer_id: into })));

  await sql`
    update customers c set traits = s.traits, trait_timestamps = s.trait_timestamps,
      first_seen_at = s.first_seen_at, last_seen_at = s.last_seen_at, identified_at = s.identified_at
    from jsonb_to_recordset(${JSON.stringify([...survivors.values()])}::jsonb)
      as s(id uuid, traits jsonb, trait_timestamps jsonb, first_seen_at timestamptz, last_seen_at timestamptz, identified_at timestamptz)
    where c.id = s.id`.execute(db);
  await sql`
    delete from identities i using jsonb_to_recordset(${JSON.stringify(identities)}::jsonb) as r(kind text, value text)
    where i.kind = r.kind and i.value = r.value`.execute(db);
  await sql`
    insert into identities (kind, source_id, value, customer_id, first_seen_at, last_seen_at)
    select kind, source_id, value, customer_id, first_seen_at, last_seen_at
    from jsonb_to_recordset(${JSON.stringify(identities)}::jsonb)
      as r(kind text, source_id text, value text, customer_id uuid, first_seen_at timestamptz, last_seen_at timestamptz)`.execute(db);
  await sql`
    update identities i set customer_id = m.into_customer_id
    from jsonb_to_recordset(${moves}::jsonb) as m(from_customer_id uuid, into_customer_id uuid)
    where i.customer_id = m.from_customer_id`.execute(db);
  await sql`
    update events e set customer_id = m.into_customer_id
    from jsonb_to_recordset(${moves}::jsonb) as m(from_customer_id uuid, into_customer_id uuid)
    where e.customer_id = m.from_customer_id`.execute(db);
  const records = [
    ...merges.map((m) => ({ from_customer_id: m.from, into_customer_id: m.into, reason: 'workspace_identity', source_id: m.source_id })),
    ...relinks.map((r) => ({ from_customer_id: r.from, into_customer_id: find(r.into), reason: 'anonymous_id_relinked', source_id: r.source_id })),
  ];
  await sql`
    insert into identity_merges (from_customer_id, into_customer_id, reason, source_id, message_id)
    select from_customer_id, into_customer_id, reason, source_id, ${MIGRATION_MESSAGE_ID}
    from jsonb_to_recordset(${JSON.stringify(records)}::jsonb)
      as r(from_customer_id uuid, into_customer_id uuid, reason text, source_id text)`.execute(db);
  await sql`
    delete from customers c using jsonb_to_recordset(${moves}::jsonb) as m(from_customer_id uuid)
    where c.id = m.from_customer_id`.execute(db);
}

function isIdentified(customer: CustomerRow): boolean {
  return customer.identified_at !== null;
}

/** Sort key of a merge survivor: identified first, then earliest identified, earliest seen, lowest id. */
function rank(customer: CustomerRow): string {
  const identified = customer.identified_at === null ? `1${'9'.repeat(16)}` : `0${String(customer.identified_at.getTime()).padStart(16, '0')}`;
  return `${identified}|${String(customer.first_seen_at.getTime()).padStart(16, '0')}|${customer.id}`;
}

function foldCustomer(into: CustomerRow, from: CustomerRow): void {
  for (const [key, value] of Object.entries(from.traits)) {
    const theirs = typeof from.trait_timestamps[key] === 'string' ? Date.parse(from.trait_timestamps[key] as string) : 0;
    const ours = typeof into.trait_timestamps[key] === 'string' ? Date.parse(into.trait_timestamps[key] as string) : -1;
    if (!(key in into.traits) || ours < theirs) {
      Object.defineProperty(into.traits, key, { value, enumerable: true, writable: true, configurable: true });
      Object.defineProperty(into.trait_timestamps, key, { value: from.trait_timestamps[key] ?? new Date(0).toISOString(), enumerable: true, writable: true, configurable: true });
    }
  }
  if (from.first_seen_at < into.first_seen_at) into.first_seen_at = from.first_seen_at;
  if (from.last_seen_at > into.last_seen_at) into.last_seen_at = from.last_seen_at;
  if (from.identified_at !== null && (into.identified_at === null || from.identified_at < into.identified_at)) into.identified_at = from.identified_at;
}

/** `customer_profiles`; with `everyTrait`, followed by every current trait and who set it. */
async function createCustomerProfiles(db: Kysely<any>, everyTrait: boolean): Promise<void> {
  const extra = everyTrait
    ? sql`,
      coalesce(cu.traits, '{}') as traits,
      coalesce(cu.trait_sources, '{}') as trait_sources`
    : sql``;
  const join = everyTrait ? sql`left join customers cu on cu.id = c.customer_id` : sql``;
  await sql`
    create or replace view customer_profiles as
    with per_customer as (
      select
        customer_id,
        (array_agg(user_id order by "timestamp" desc, id desc) filter (where user_id is not null))[1] as user_id,
        (array_agg(coalesce(traits ->> 'email', context -> 'traits' ->> 'email') order by "timestamp" desc, id desc)
          filter (where coalesce(traits ->> 'email', context -> 'traits' ->> 'email') is not null))[1] as email,
        (array_agg(coalesce(
            traits ->> 'name',
            nullif(concat_ws(' ', traits ->> 'firstName', traits ->> 'lastName'), ''),
            nullif(concat_ws(' ', traits ->> 'first_name', traits ->> 'last_name'), ''),
            context -> 'traits' ->> 'name') order by "timestamp" desc, id desc)
          filter (where coalesce(
            traits ->> 'name', traits ->> 'firstName', traits ->> 'lastName', traits ->> 'first_name', traits ->> 'last_name',
            context -> 'traits' ->> 'name') is not null))[1] as name,
        min("timestamp") as first_seen,
        max("timestamp") as last_seen,
        count(*) as events,
        count(distinct anonymous_id) as devices,
        (array_agg(context -> 'consent' -> 'categoryPreferences' order by "timestamp" desc, id desc)
          filter (where jsonb_typeof(context -> 'consent' -> 'categoryPreferences') = 'object'))[1] as consent
      from events
      where customer_id is not null
      group by customer_id
    ),
    per_customer_sessions as (
      select customer_id, count(distinct session_id) as sessions from events_with_session group by customer_id
    ),
    per_customer_orders as (
      select customer_id, count(*) as orders, sum(revenue) as revenue from orders where customer_id is not null group by customer_id
    )
    select
      c.customer_id,
      c.user_id,
      c.email,
      c.name,
      c.first_seen,
      c.last_seen,
      coalesce(s.sessions, 0) as sessions,
      c.events,
      coalesce(o.orders, 0) as orders,
      coalesce(o.revenue, 0) as revenue,
      case when o.orders > 0 then round(o.revenue / o.orders, 2) end as average_order_value,
      c.consent,
      c.devices${extra}
    from per_customer c
    left join per_customer_sessions s using (customer_id)
    left join per_customer_orders o using (customer_id)
    ${join}`.execute(db);
}
