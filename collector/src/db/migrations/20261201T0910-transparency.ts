import { sql, type Kysely } from 'kysely';

/**
 * What Tally holds about each person and on what consent (DESIGN.md §6), documented in
 * docs/sql.md:
 * - `consent_changes`: one row per consent change a person made (a `Consent Updated` event).
 * - `customer_transparency`: per customer, its identities, trait names, events, first and
 *   last seen, the consent state its latest event was collected under, its consent changes
 *   and its kept rejected events.
 * - `tally_customer_identity_hashes(customer)`: the hashes under which a customer's rows of
 *   `rejected_events` are found (`tally_identity_hash` of each identity and of the e-mail trait).
 *
 * The views read through SQL functions whose bodies are resolved when queried (and inlined
 * by the planner, so a filter on `customer_id` reaches the indexes): a later migration may
 * rebuild `events` (partitioning it, for one) without having to drop and recreate them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function tally_customer_identity_hashes(customer uuid) returns text[]
    language sql stable as $fn$
      select array(
        select tally_identity_hash(i.kind, i.value) from identities i where i.customer_id = customer
        union
        select tally_identity_hash('email', c.traits ->> 'email') from customers c
        where c.id = customer and tally_normalise_email(c.traits ->> 'email') is not null)
    $fn$;

    create function tally_consent_changes() returns table (
      customer_id uuid, source_id text, message_id text, changed_at timestamptz, category_preferences jsonb, gpc boolean
    )
    language sql stable as $fn$
      select e.customer_id, e.source_id, e.message_id, e."timestamp",
        case when jsonb_typeof(e.context -> 'consent' -> 'categoryPreferences') = 'object'
          then e.context -> 'consent' -> 'categoryPreferences' else e.properties end,
        case when jsonb_typeof(e.context -> 'consent' -> 'gpc') = 'boolean' then (e.context -> 'consent' ->> 'gpc')::boolean end
      from events e
      where e.event = 'Consent Updated' and e.type = 'track'
    $fn$;

    create view consent_changes as select * from tally_consent_changes();

    create function tally_customer_transparency() returns table (
      customer_id uuid, user_ids text[], anonymous_ids integer, identities integer, trait_keys text[],
      events bigint, first_seen timestamptz, last_seen timestamptz, identified_at timestamptz,
      consent jsonb, consent_changes jsonb, last_consent_change_at timestamptz, rejected_events bigint
    )
    language sql stable as $fn$
      select c.id,
        array(select i.value from identities i where i.customer_id = c.id and i.kind = 'user' order by i.first_seen_at, i.value),
        (select count(*)::integer from identities i where i.customer_id = c.id and i.kind = 'anonymous'),
        (select count(*)::integer from identities i where i.customer_id = c.id),
        array(select jsonb_object_keys(c.traits) order by 1),
        coalesce(e.events, 0), e.first_seen, e.last_seen, c.identified_at,
        e.consent,
        coalesce(h.changes, '[]'::jsonb), h.last_change,
        (select count(*) from rejected_events r where r.identity_hashes && tally_customer_identity_hashes(c.id))
      from customers c
      left join lateral (
        select count(*) as events, min(x."timestamp") as first_seen, max(x."timestamp") as last_seen,
          (array_agg(x.context -> 'consent' -> 'categoryPreferences' order by x."timestamp" desc, x.id desc)
            filter (where jsonb_typeof(x.context -> 'consent' -> 'categoryPreferences') = 'object'))[1] as consent
        from events x where x.customer_id = c.id
      ) e on true
      left join lateral (
        select jsonb_agg(jsonb_build_object('at', k.changed_at, 'source_id', k.source_id, 'category_preferences', k.category_preferences, 'gpc', k.gpc)
            order by k.changed_at, k.message_id) as changes,
          max(k.changed_at) as last_change
        from tally_consent_changes() k where k.customer_id = c.id
      ) h on true
    $fn$;

    create view customer_transparency as select * from tally_customer_transparency();
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop view customer_transparency;
    drop function tally_customer_transparency;
    drop view consent_changes;
    drop function tally_consent_changes;
    drop function tally_customer_identity_hashes;
  `.execute(db);
}
