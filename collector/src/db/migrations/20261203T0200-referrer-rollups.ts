import { sql, type Kysely } from 'kysely';
import { refreshDailyRollupsBody } from './20261203T0100-session-rollups.js';

/**
 * Referrers per day, so that the dashboard's top referrers read a month of days instead of
 * every page view of the month (6.9 s on 10 million events):
 *
 * - `daily_referrer_counts (day, referrer_host, pageviews)`: page views per UTC day that came
 *   from another site, by the host of their referrer (`tally_referrer_host`: a referrer on
 *   the page's own host, a click inside the site, is left out).
 * - `referrer_customer_days (day, referrer_host, customer_id)`: the customers who came from
 *   that host that day, so that visitors over a range are exact (`count(distinct customer_id)`).
 *
 * Both are refreshed with the other daily roll-ups by `tally_refresh_daily_rollups` (same
 * scan of the days' events) and hold what the days' events held at the last refresh. This
 * migration fills every day once. Customer ids are pseudonymous, as in `customer_page_days`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- The other site a page was reached from: the host of its referrer, unless that is the
    -- page's own host (a click inside the site) or the referrer is not an absolute URL.
    create function tally_referrer_host(referrer text, url text) returns text
    language sql immutable parallel safe as $fn$
      select case when tally_url_host(referrer) is distinct from tally_url_host(url) then tally_url_host(referrer) end
    $fn$;

    create table daily_referrer_counts (
      day date not null,
      referrer_host text not null,
      pageviews bigint not null
    );
    create index daily_referrer_counts_day on daily_referrer_counts (day);

    create table referrer_customer_days (
      day date not null,
      referrer_host text not null,
      customer_id uuid not null
    );
    create index referrer_customer_days_day on referrer_customer_days (day) include (referrer_host, customer_id);
  `.execute(db);
  await sql.raw(refreshDailyRollupsBody({ sessions: true, referrers: true })).execute(db);
  await sql`
    with referred as materialized (
      select (e."timestamp" at time zone 'UTC')::date as day, tally_referrer_host(e.referrer, e.url) as referrer_host, e.customer_id
        from events e
       where e.type = 'page' and e.referrer is not null
    ),
    counted as (
      insert into daily_referrer_counts (day, referrer_host, pageviews)
      select day, referrer_host, count(*) from referred where referrer_host is not null group by 1, 2
    )
    insert into referrer_customer_days (day, referrer_host, customer_id)
    select distinct day, referrer_host, customer_id from referred where referrer_host is not null and customer_id is not null;

    do $do$
    begin
      if (select count(*) from pg_roles where rolname in ('tally_marketer', 'tally_analyst')) = 2 then
        grant select on daily_referrer_counts, referrer_customer_days to tally_marketer, tally_analyst;
      end if;
      if exists (select 1 from pg_roles where rolname = 'tally_dashboard') then
        grant select on daily_referrer_counts, referrer_customer_days to tally_dashboard;
      end if;
    end
    $do$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(refreshDailyRollupsBody({ sessions: true, referrers: false })).execute(db);
  await sql`
    drop table referrer_customer_days;
    drop table daily_referrer_counts;
    drop function tally_referrer_host(text, text);
  `.execute(db);
}
