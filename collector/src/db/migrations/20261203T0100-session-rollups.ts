import { sql, type Kysely } from 'kysely';

/**
 * `daily_session_counts`: sessions (as the `sessions` view defines them) per UTC day of their
 * start, UTM source, medium and campaign, referrer host and landing path, so that sessions
 * per day by source over a month reads a few thousand rows instead of working out every
 * session of the month from its events (200 s on 10 million events).
 *
 * A session counts on the UTC day of its first event, with everything it did, including its
 * events after midnight. `tally_refresh_daily_sessions(from_day, to_day)` recomputes the
 * sessions that start on those days, exactly as `sessions` would give them:
 *
 * - Whether a customer's first event of the range starts a session depends on what came
 *   before it: their latest earlier event (30 minutes) and latest earlier campaign. Both are
 *   looked up per customer in the `(customer_id, timestamp)` and campaign indexes, so a
 *   session begun before `from_day` and still going is left to the day it began on.
 * - A session of `to_day` may run past midnight: the events of the day after are read too,
 *   and one more day each time a session begun in the range is still going at the end of
 *   what was read (its last event within 30 minutes of it).
 *
 * `tally_refresh_daily_rollups` calls it, so the collector's schedule refreshes yesterday's and
 * today's sessions with the other roll-ups; older days change when refreshed by hand (a late
 * event, a merge, a forgotten customer). This migration fills every day that has events once.
 * No customer ids are stored: every role that reads the other roll-ups may read it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- The host of a URL, as written (without user info or port); null when the
    -- text is not an absolute URL. Referrer reports group by it.
    create function tally_url_host(url text) returns text
    language sql immutable parallel safe as $fn$
      select substring(url from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)')
    $fn$;

    create table daily_session_counts (
      day date not null,
      utm_source text,
      utm_medium text,
      utm_campaign text,
      referrer_host text,
      landing_path text,
      sessions bigint not null,
      events bigint not null,
      pageviews bigint not null,
      converted bigint not null
    );
    -- Sessions per day by source reads this index alone.
    create index daily_session_counts_day on daily_session_counts (day) include (utm_source, sessions);

    create function tally_refresh_daily_sessions(from_day date, to_day date) returns void
    language plpgsql
    set jit = off
    set work_mem = '256MB'
    as $fn$
    declare
      since timestamptz := from_day::timestamp at time zone 'UTC';
      until timestamptz := (to_day + 1)::timestamp at time zone 'UTC';
      -- How far the events are read: a session begun before until may go on after it.
      reach timestamptz := (to_day + 2)::timestamp at time zone 'UTC';
      still_going boolean;
    begin
      if from_day is null or to_day is null or from_day > to_day then
        return;
      end if;
      perform pg_advisory_xact_lock(7146375930123771002);
      loop
        delete from daily_session_counts where day between from_day and to_day;
        with touched as (
          select distinct customer_id from events
           where "timestamp" >= since and "timestamp" < until and customer_id is not null
        ),
        -- What came before the range, per customer: their latest event, and their latest
        -- campaign as events_with_session keys it (20 digits of epoch microseconds, then the
        -- campaign; the greatest key is the latest campaign).
        earlier as (
          select t.customer_id,
                 (select max(e."timestamp") from events e where e.customer_id = t.customer_id and e."timestamp" < since) as previous_timestamp,
                 (select max(lpad((extract(epoch from e."timestamp") * 1000000)::bigint::text, 20, '0') || e.utm_campaign)
                    from events e
                   where e.customer_id = t.customer_id and e.utm_campaign is not null
                     and e."timestamp" = (select max(l."timestamp") from events l
                                           where l.customer_id = t.customer_id and l."timestamp" < since and l.utm_campaign is not null)) as previous_campaign
            from touched t
        ),
        ordered as (
          select e.id, e.customer_id, e."timestamp", e.type, e.event, e.path, e.referrer,
                 e.utm_source, e.utm_medium, e.utm_campaign, row_number() over w as seq,
                 coalesce(lag(e."timestamp") over w, b.previous_timestamp) as previous_timestamp,
                 greatest(max(case when e.utm_campaign is not null
                                   then lpad((extract(epoch from e."timestamp") * 1000000)::bigint::text, 20, '0') || e.utm_campaign end)
                            over (w rows between unbounded preceding and 1 preceding),
                          b.previous_campaign) as previous_campaign
            from events e
            join earlier b on b.customer_id = e.customer_id
           where e."timestamp" >= since and e."timestamp" < reach
          window w as (partition by e.customer_id order by e."timestamp", e.id)
        ),
        marked as (
          select o.*,
                 max(case when o.previous_timestamp is null
                            or o."timestamp" - o.previous_timestamp > interval '30 minutes'
                            or (o.utm_campaign is not null and o.utm_campaign is distinct from substr(o.previous_campaign, 21))
                          then o."timestamp" end)
                   over (partition by o.customer_id order by o."timestamp", o.id rows unbounded preceding) as session_started_at
            from ordered o
        ),
        -- The columns of the sessions view the roll-up keeps, computed as it computes them:
        -- "the first value in the session" is the value of the event that comes first in
        -- (timestamp, id) order, found as the least of seq-prefixed values (no sort per session).
        -- Events before the first session start of the range belong to a session begun
        -- earlier (session_started_at null): that session counts on its own day.
        visits as materialized (
          select m.customer_id, m.session_started_at as started_at, max(m."timestamp") as ended_at,
                 substr(coalesce(min((lpad(m.seq::text, 20, '0') || m.path) collate "C") filter (where m.type = 'page' and m.path is not null),
                                 min((lpad(m.seq::text, 20, '0') || m.path) collate "C") filter (where m.path is not null)), 21) as landing_path,
                 substr(min((lpad(m.seq::text, 20, '0') || m.referrer) collate "C"), 21) as referrer,
                 substr(min((lpad(m.seq::text, 20, '0') || m.utm_source) collate "C"), 21) as utm_source,
                 substr(min((lpad(m.seq::text, 20, '0') || m.utm_medium) collate "C"), 21) as utm_medium,
                 substr(min((lpad(m.seq::text, 20, '0') || m.utm_campaign) collate "C"), 21) as utm_campaign,
                 count(*) as events,
                 count(*) filter (where m.type = 'page') as pageviews,
                 coalesce(bool_or(m.event = 'Order Completed'), false) as completed_order
            from marked m
           where m.session_started_at is not null and m.session_started_at < until
           group by m.customer_id, m.session_started_at
        ),
        stored as (
          insert into daily_session_counts (day, utm_source, utm_medium, utm_campaign, referrer_host, landing_path,
                                            sessions, events, pageviews, converted)
          select (v.started_at at time zone 'UTC')::date, v.utm_source, v.utm_medium, v.utm_campaign,
                 tally_url_host(v.referrer), v.landing_path,
                 count(*), sum(v.events), sum(v.pageviews), count(*) filter (where v.completed_order)
            from visits v
           group by 1, 2, 3, 4, 5, 6
        )
        -- A session of the range whose last event read is within 30 minutes of the end of
        -- what was read may go on after it: read one more day.
        select exists (select 1 from visits v where v.ended_at >= reach - interval '30 minutes') into still_going;
        exit when not still_going;
        reach := reach + interval '1 day';
      end loop;
    end
    $fn$;
    revoke all on function tally_refresh_daily_sessions(date, date) from public;

  `.execute(db);
  await sql.raw(refreshDailyRollupsBody({ sessions: true, referrers: false })).execute(db);
  await sql`
    select tally_refresh_daily_sessions((min("timestamp") at time zone 'UTC')::date, (max("timestamp") at time zone 'UTC')::date) from events;

    do $do$
    begin
      if (select count(*) from pg_roles where rolname in ('tally_marketer', 'tally_analyst')) = 2 then
        grant select on daily_session_counts to tally_marketer, tally_analyst;
      end if;
      if exists (select 1 from pg_roles where rolname = 'tally_dashboard') then
        grant select on daily_session_counts to tally_dashboard;
      end if;
    end
    $do$;
  `.execute(db);
}

/** The refresh goes back to what 20261202T1600-daily-rollups made. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(refreshDailyRollupsBody({ sessions: false, referrers: false })).execute(db);
  await sql`
    drop function tally_refresh_daily_sessions(date, date);
    drop table daily_session_counts;
    drop function tally_url_host(text);
  `.execute(db);
}

/**
 * `tally_refresh_daily_rollups(from_day, to_day)` as each migration since
 * 20261202T1600-daily-rollups defines it: one scan of the days' events fills
 * `daily_event_counts`, `customer_days`, `customer_page_days` and, from 20261203T0200, the
 * referrer roll-ups, from 20261203T0400 the UTM source roll-ups; from 20261203T0100 it then
 * refreshes the sessions that began those days.
 */
export function refreshDailyRollupsBody(parts: { sessions: boolean; referrers: boolean; campaigns?: boolean }): string {
  // A page that came from another site: the host of its referrer (tally_referrer_host).
  const referrerColumns = parts.referrers
    ? `,
               case when e.type = 'page' then tally_referrer_host(e.referrer, e.url) end as referrer_host`
    : '';
  const referrerDeletes = parts.referrers
    ? `
      delete from daily_referrer_counts where day between from_day and to_day;
      delete from referrer_customer_days where day between from_day and to_day;`
    : '';
  const referrerInserts = parts.referrers
    ? `
      referred_counted as (
        insert into daily_referrer_counts (day, referrer_host, pageviews)
        select day, referrer_host, count(*) from scanned where referrer_host is not null group by 1, 2
      ),
      referred_customers as (
        insert into referrer_customer_days (day, referrer_host, customer_id)
        select distinct day, referrer_host, customer_id from scanned where referrer_host is not null and customer_id is not null
      ),`
    : '';
  const campaignColumns = parts.campaigns ? ', e.utm_source' : '';
  const campaignDeletes = parts.campaigns
    ? `
      delete from daily_utm_source_counts where day between from_day and to_day;
      delete from utm_source_customer_days where day between from_day and to_day;`
    : '';
  const campaignInserts = parts.campaigns
    ? `
      campaign_counted as (
        insert into daily_utm_source_counts (day, utm_source, events)
        select day, utm_source, count(*) from scanned where utm_source is not null group by 1, 2
      ),
      campaign_customers as (
        insert into utm_source_customer_days (day, utm_source, customer_id)
        select distinct day, utm_source, customer_id from scanned where utm_source is not null and customer_id is not null
      ),`
    : '';
  return `
    create or replace function tally_refresh_daily_rollups(from_day date, to_day date) returns void
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
      delete from customer_page_days where day between from_day and to_day;${referrerDeletes}${campaignDeletes}
      with scanned as materialized (
        select (e."timestamp" at time zone 'UTC')::date as day, e.source_id, e.type, e.event,
               case when e.type = 'page' then e.path end as path, e.customer_id${referrerColumns}${campaignColumns}
          from events e
         where e."timestamp" >= since and e."timestamp" < until
      ),${referrerInserts}${campaignInserts}
      counted as (
        insert into daily_event_counts (day, source_id, type, event, path, events)
        select day, source_id, type, event, path, count(*) from scanned group by 1, 2, 3, 4, 5
      ),
      visited as (
        insert into customer_days (day, customer_id)
        select distinct day, customer_id from scanned where customer_id is not null
      )
      insert into customer_page_days (day, path, customer_id)
      select distinct day, path, customer_id from scanned where type = 'page' and customer_id is not null;${
        parts.sessions
          ? `
      perform tally_refresh_daily_sessions(from_day, to_day);`
          : ''
      }
    end
    $fn$;`;
}
