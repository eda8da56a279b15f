import { sql, type Kysely } from 'kysely';

/** The columns of `sessions` as 20261123T1100-marketing made them. */
const sessionColumns = sql`
      session_id,
      customer_id,
      min("timestamp") as started_at,
      max("timestamp") as ended_at,
      max("timestamp") - min("timestamp") as duration,
      coalesce((array_agg(url order by "timestamp", id) filter (where type = 'page' and url is not null))[1],
               (array_agg(url order by "timestamp", id) filter (where url is not null))[1]) as landing_page,
      coalesce((array_agg(path order by "timestamp", id) filter (where type = 'page' and path is not null))[1],
               (array_agg(path order by "timestamp", id) filter (where path is not null))[1]) as landing_path,
      (array_agg(referrer order by "timestamp", id) filter (where referrer is not null))[1] as referrer,
      (array_agg(utm_source order by "timestamp", id) filter (where utm_source is not null))[1] as utm_source,
      (array_agg(utm_medium order by "timestamp", id) filter (where utm_medium is not null))[1] as utm_medium,
      (array_agg(utm_campaign order by "timestamp", id) filter (where utm_campaign is not null))[1] as utm_campaign,
      (array_agg(utm_term order by "timestamp", id) filter (where utm_term is not null))[1] as utm_term,
      (array_agg(utm_content order by "timestamp", id) filter (where utm_content is not null))[1] as utm_content,
      count(*) as events,
      count(*) filter (where type = 'page') as pageviews,
      coalesce(bool_or(event = 'Order Completed'), false) as completed_order`;

/** The columns of `analyst_sessions` as 20261201T1100-roles made them. */
const analystSessionColumns = sql`session_id, customer_id, started_at, ended_at, duration, landing_path,
           substring(referrer from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)') as referrer_host,
           utm_source, utm_medium, utm_campaign, utm_term, utm_content, events, pageviews, completed_order`;

/**
 * App sessions: `sessions` counts screens as it counts pages (`screenviews`) and names a
 * session's first screen (`landing_screen`), so a session in an app has a landing screen as a
 * visit to a site has a landing page. `analyst_sessions` shows both: a screen's name is set by
 * the app, as `analyst_events.name` is. Columns are added at the end, so the views are replaced
 * in place and keep their grants.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace view sessions as
    select
${sessionColumns},
      count(*) filter (where type = 'screen') as screenviews,
      (array_agg(name order by "timestamp", id) filter (where type = 'screen' and name is not null))[1] as landing_screen
    from events_with_session
    group by session_id, customer_id;

    create or replace view analyst_sessions as
    select ${analystSessionColumns},
           screenviews, landing_screen
      from sessions;
  `.execute(db);
}

/** A view cannot lose columns in place: both are made again as they were, with their grants. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop view analyst_sessions;
    drop view sessions;

    create view sessions as
    select
${sessionColumns}
    from events_with_session
    group by session_id, customer_id;

    create view analyst_sessions as
    select ${analystSessionColumns}
      from sessions;

    do $do$
    begin
      if (select count(*) from pg_roles where rolname in ('tally_admin', 'tally_marketer', 'tally_analyst')) < 3 then
        return;
      end if;
      grant all on sessions, analyst_sessions to tally_admin;
      grant select on analyst_sessions to tally_analyst;
      grant select on analyst_sessions, sessions to tally_marketer;
    end
    $do$;
  `.execute(db);
}
