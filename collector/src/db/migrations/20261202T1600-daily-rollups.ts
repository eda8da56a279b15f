import { sql, type Kysely } from 'kysely';

/**
 * Daily roll-ups the dashboard's busiest panels read instead of every event of a range
 * (overview totals, top pages, daily active customers, events per day):
 *
 * - `daily_event_counts`: events per UTC day, source, type, track event name and, for pages
 *   only, path (other types have a null path, so that the table stays small).
 * - `customer_days`: one row per UTC day and customer with at least one event that day;
 *   distinct visitors over a range are `count(distinct customer_id)` over its days (exact).
 * - `customer_page_days`: one row per UTC day, page path and customer who viewed it.
 *
 * No trigger keeps them: `tally_refresh_daily_rollups(from_day, to_day)` recomputes the days
 * from `from_day` to `to_day` (both included) from `events` in one pass, replacing what they
 * held, within the caller's transaction. The collector runs it for yesterday and today on its
 * schedule (`TALLY_ROLLUP_INTERVAL_MS`, see retention/rollups.ts); older days that change
 * (late events, a forgotten customer, a merge) are refreshed by calling it by hand. This
 * migration fills every day that has events once.
 *
 * Customer ids are pseudonymous, as in `customer_event_days`: the analyst role may read the
 * roll-ups too.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table daily_event_counts (
      day date not null,
      source_id text not null,
      type text not null,
      event text,
      path text,
      events bigint not null
    );
    create index daily_event_counts_day on daily_event_counts (day);

    create table customer_days (
      day date not null,
      customer_id uuid not null,
      constraint customer_days_pkey primary key (day, customer_id)
    );

    create table customer_page_days (
      day date not null,
      path text,
      customer_id uuid not null
    );
    create index customer_page_days_day on customer_page_days (day);
    -- Top pages count each page's visitors over a range from this index alone.
    create index customer_page_days_path on customer_page_days (path, day) include (customer_id);

    create function tally_refresh_daily_rollups(from_day date, to_day date) returns void
    language plpgsql as $fn$
    declare
      since timestamptz := from_day::timestamp at time zone 'UTC';
      until timestamptz := (to_day + 1)::timestamp at time zone 'UTC';
    begin
      if from_day is null or to_day is null or from_day > to_day then
        return;
      end if;
      -- Two refreshes at once (two collectors, or one by hand) take turns.
      perform pg_advisory_xact_lock(7146375930123771001);
      delete from daily_event_counts where day between from_day and to_day;
      delete from customer_days where day between from_day and to_day;
      delete from customer_page_days where day between from_day and to_day;
      with scanned as materialized (
        select (e."timestamp" at time zone 'UTC')::date as day, e.source_id, e.type, e.event,
               case when e.type = 'page' then e.path end as path, e.customer_id
          from events e
         where e."timestamp" >= since and e."timestamp" < until
      ),
      counted as (
        insert into daily_event_counts (day, source_id, type, event, path, events)
        select day, source_id, type, event, path, count(*) from scanned group by 1, 2, 3, 4, 5
      ),
      visited as (
        insert into customer_days (day, customer_id)
        select distinct day, customer_id from scanned where customer_id is not null
      )
      insert into customer_page_days (day, path, customer_id)
      select distinct day, path, customer_id from scanned where type = 'page' and customer_id is not null;
    end
    $fn$;
    revoke all on function tally_refresh_daily_rollups(date, date) from public;

    select tally_refresh_daily_rollups((min("timestamp") at time zone 'UTC')::date, (max("timestamp") at time zone 'UTC')::date) from events;

    do $do$
    begin
      if (select count(*) from pg_roles where rolname in ('tally_marketer', 'tally_analyst')) = 2 then
        grant select on daily_event_counts, customer_days, customer_page_days to tally_marketer, tally_analyst;
      end if;
      if exists (select 1 from pg_roles where rolname = 'tally_dashboard') then
        grant select on daily_event_counts, customer_days, customer_page_days to tally_dashboard;
      end if;
    end
    $do$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop function tally_refresh_daily_rollups(date, date);
    drop table customer_page_days;
    drop table customer_days;
    drop table daily_event_counts;
  `.execute(db);
}
