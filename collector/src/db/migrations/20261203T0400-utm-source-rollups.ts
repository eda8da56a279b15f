import { sql, type Kysely } from 'kysely';
import { refreshDailyRollupsBody } from './20261203T0100-session-rollups.js';

/**
 * UTM sources per day, so that the dashboard's top UTM sources read a month of days instead of
 * every event of the month that carries a campaign (5.9 s on 10 million events):
 *
 * - `daily_utm_source_counts (day, utm_source, events)`: events per UTC day carrying that
 *   `utm_source` (of any type, as the report counted them).
 * - `utm_source_customer_days (day, utm_source, customer_id)`: the customers who sent such an
 *   event that day, so that visitors over a range are exact (`count(distinct customer_id)`).
 *
 * Both are refreshed with the other daily roll-ups by `tally_refresh_daily_rollups` (same scan
 * of the days' events) and hold what the days' events held at the last refresh. This migration
 * fills every day once. Customer ids are pseudonymous, as in `customer_page_days`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table daily_utm_source_counts (
      day date not null,
      utm_source text not null,
      events bigint not null
    );
    create index daily_utm_source_counts_day on daily_utm_source_counts (day);

    create table utm_source_customer_days (
      day date not null,
      utm_source text not null,
      customer_id uuid not null
    );
    create index utm_source_customer_days_day on utm_source_customer_days (day) include (utm_source, customer_id);
  `.execute(db);
  await sql.raw(refreshDailyRollupsBody({ sessions: true, referrers: true, campaigns: true })).execute(db);
  await sql`
    with sourced as materialized (
      select (e."timestamp" at time zone 'UTC')::date as day, e.utm_source, e.customer_id
        from events e
       where e.utm_source is not null
    ),
    counted as (
      insert into daily_utm_source_counts (day, utm_source, events)
      select day, utm_source, count(*) from sourced group by 1, 2
    )
    insert into utm_source_customer_days (day, utm_source, customer_id)
    select distinct day, utm_source, customer_id from sourced where customer_id is not null;

    do $do$
    begin
      if (select count(*) from pg_roles where rolname in ('tally_marketer', 'tally_analyst')) = 2 then
        grant select on daily_utm_source_counts, utm_source_customer_days to tally_marketer, tally_analyst;
      end if;
      if exists (select 1 from pg_roles where rolname = 'tally_dashboard') then
        grant select on daily_utm_source_counts, utm_source_customer_days to tally_dashboard;
      end if;
    end
    $do$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(refreshDailyRollupsBody({ sessions: true, referrers: true, campaigns: false })).execute(db);
  await sql`
    drop table utm_source_customer_days;
    drop table daily_utm_source_counts;
  `.execute(db);
}
