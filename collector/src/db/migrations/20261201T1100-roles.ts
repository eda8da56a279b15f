import { sql, type Kysely } from 'kysely';

/**
 * Access by data category: three group roles (NOLOGIN; a person gets a login role that is a
 * member of one, see docs/sql.md) and what each may read.
 *
 * - `tally_analyst`: behaviour without personal data. Views `analyst_events`,
 *   `analyst_sessions` and the function `analyst_funnel(...)`, plus `orders`, `order_items`
 *   and `customer_event_days`. No e-mail, IP, user or anonymous ids, names, full URLs or
 *   referrers, and no free-form `properties`, `traits` or `context`.
 * - `tally_marketer`: the marketing views with profile traits (`customer_profiles`,
 *   `sessions`, `events_with_session`, `orders`, `order_items`), `events`, `customers` and
 *   `funnel(...)`; not the identity graph, the refused events or the ledgers.
 * - `tally_admin`: everything in the schema, including what later migrations create.
 *
 * Roles belong to the whole Postgres cluster, which many databases may share: they are
 * created only if missing and never dropped by `down`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    do $do$
    declare
      role_name text;
    begin
      foreach role_name in array array['tally_admin', 'tally_marketer', 'tally_analyst'] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
          begin
            execute format('create role %I nologin', role_name);
          exception
            when duplicate_object or unique_violation then
              -- Another database on this server created it at the same moment.
              null;
            when insufficient_privilege then
              -- The collector's own user may not create roles: a superuser can create them
              -- later and run the grants in docs/sql.md; the collector works without them.
              raise notice 'tally: cannot create role % (%); access by data category is not set up', role_name, sqlerrm;
          end;
        end if;
      end loop;
    end
    $do$;

    -- Events without what identifies a person: no user, anonymous or group ids, no IP, no
    -- full URL or referrer (query strings carry e-mails and tokens), no free-form JSON.
    create view analyst_events as
    select id, source_id, type, event, name, customer_id, "timestamp", received_at, path,
           substring(referrer from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)') as referrer_host,
           utm_source, utm_medium, utm_campaign, utm_term, utm_content,
           browser, browser_version, os, os_version, device_type
      from events;

    create view analyst_sessions as
    select session_id, customer_id, started_at, ended_at, duration, landing_path,
           substring(referrer from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)') as referrer_host,
           utm_source, utm_medium, utm_campaign, utm_term, utm_content, events, pageviews, completed_order
      from sessions;

    -- funnel() for those who may not read events: the same answer, broken down only by a
    -- column analyst_events shows.
    create function analyst_funnel(
      steps text[],
      since timestamptz,
      until timestamptz,
      within interval,
      breakdown text default null
    ) returns table (
      step integer,
      event text,
      breakdown_value text,
      customers bigint,
      conversion_from_previous numeric,
      conversion_from_first numeric,
      median_time_from_previous interval
    )
    language plpgsql stable security definer
    as $fn$
    begin
      if breakdown is not null and breakdown not in (
        'source_id', 'type', 'event', 'name', 'path', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content',
        'browser', 'browser_version', 'os', 'os_version', 'device_type'
      ) then
        raise exception 'analyst_funnel: breakdown must name a column of analyst_events (such as utm_source), got %', breakdown
          using errcode = '22023';
      end if;
      return query select * from funnel(steps, since, until, within, breakdown);
    end
    $fn$;

    -- A security definer function runs with its owner's rights: it must not find another
    -- funnel() or events earlier on a caller's search path.
    do $do$
    begin
      execute format('alter function analyst_funnel(text[], timestamptz, timestamptz, interval, text) set search_path = %I, pg_temp', current_schema());
    end
    $do$;
    revoke all on function analyst_funnel(text[], timestamptz, timestamptz, interval, text) from public;

    do $do$
    begin
      if (select count(*) from pg_roles where rolname in ('tally_admin', 'tally_marketer', 'tally_analyst')) < 3 then
        return;
      end if;
      execute format('grant usage on schema %I to tally_admin, tally_marketer, tally_analyst', current_schema());
      execute format('grant all on all tables in schema %I to tally_admin', current_schema());
      execute format('grant all on all sequences in schema %I to tally_admin', current_schema());
      execute format('grant all on all functions in schema %I to tally_admin', current_schema());
      execute format('grant create on schema %I to tally_admin', current_schema());
      -- What later migrations create, tally_admin may use too.
      execute format('alter default privileges in schema %I grant all on tables to tally_admin', current_schema());
      execute format('alter default privileges in schema %I grant all on sequences to tally_admin', current_schema());
      execute format('alter default privileges in schema %I grant all on functions to tally_admin', current_schema());
      grant execute on function analyst_funnel(text[], timestamptz, timestamptz, interval, text) to tally_analyst, tally_marketer, tally_admin;
      grant select on analyst_events, analyst_sessions, orders, order_items, customer_event_days to tally_analyst;
      grant select on analyst_events, analyst_sessions, orders, order_items, customer_event_days,
                      events, events_with_session, sessions, customer_profiles, customers to tally_marketer;
    end
    $do$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    do $do$
    begin
      if (select count(*) from pg_roles where rolname in ('tally_admin', 'tally_marketer', 'tally_analyst')) < 3 then
        return;
      end if;
      revoke select on orders, order_items, customer_event_days, events, events_with_session, sessions, customer_profiles, customers
        from tally_analyst, tally_marketer;
      execute format('alter default privileges in schema %I revoke all on tables from tally_admin', current_schema());
      execute format('alter default privileges in schema %I revoke all on sequences from tally_admin', current_schema());
      execute format('alter default privileges in schema %I revoke all on functions from tally_admin', current_schema());
      execute format('revoke all on all tables in schema %I from tally_admin', current_schema());
      execute format('revoke all on all sequences in schema %I from tally_admin', current_schema());
      execute format('revoke all on all functions in schema %I from tally_admin', current_schema());
      execute format('revoke all on schema %I from tally_admin, tally_marketer, tally_analyst', current_schema());
    end
    $do$;
    drop function analyst_funnel(text[], timestamptz, timestamptz, interval, text);
    drop view analyst_sessions;
    drop view analyst_events;
  `.execute(db);
}
