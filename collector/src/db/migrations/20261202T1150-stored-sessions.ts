import { sql, type Kysely, type RawBuilder } from 'kysely';
import { grantToRoles } from '../role-grants.js';

/**
 * Sessions kept at write time (docs/sql.md, "events_with_session and sessions"): the
 * `sessions` view reads `customer_sessions`, which triggers on `events` keep equal to the
 * sessions computed from the events, so that a report over every session reads one row per
 * session instead of sorting every event.
 *
 * The rule is the one of `events_with_session` (20261123T1100-marketing): a customer's
 * session ends after 30 minutes without an event, and an event carrying a UTM campaign
 * other than the last one seen starts a new one. When events of a customer are added,
 * changed, moved (a merge) or deleted at time t, only their sessions from the last one that
 * started before t can change: the events before it are untouched, so it still starts a
 * session. Those sessions are worked out again from the events from there on, seeded with the
 * last campaign seen before it.
 *
 * Session ids no longer depend on the reader's time zone: both the view and the table make
 * them from the session start in UTC.
 *
 * The table also holds the app columns of 20261202T1200-app-sessions (`screenviews`,
 * `landing_screen`); that migration, which runs after this one, makes `sessions` computed
 * again: pointing it at `customer_sessions` once more needs a migration after it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function tally_session_id(customer uuid, started_at timestamptz) returns uuid
    language sql immutable parallel safe as $fn$
      select md5(customer::text || '/' || to_char(started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))::uuid
    $fn$;
  `.execute(db);
  await createEventsWithSession(db, sql`tally_session_id(s.customer_id, s.session_started_at)`);
  await sql`
    create table customer_sessions (
      customer_id uuid not null,
      started_at timestamptz not null,
      session_id uuid not null,
      ended_at timestamptz not null,
      landing_page text,
      landing_path text,
      referrer text,
      utm_source text,
      utm_medium text,
      utm_campaign text,
      utm_term text,
      utm_content text,
      events bigint not null,
      pageviews bigint not null,
      completed_order boolean not null,
      screenviews bigint not null,
      landing_screen text,
      primary key (customer_id, started_at)
    );
    create index customer_sessions_started_at on customer_sessions (started_at);

    -- The sessions of each customer from 'starts' on, computed from their events: the same
    -- rule as events_with_session, with the campaign seen before 'starts' carried in.
    create function tally_sessions_from(customers uuid[], starts timestamptz[])
    returns setof customer_sessions
    language sql stable as $fn$
      select s.customer_id, s.session_started_at, tally_session_id(s.customer_id, s.session_started_at),
             max(s."timestamp"),
             coalesce((array_agg(s.url order by s."timestamp", s.id) filter (where s.type = 'page' and s.url is not null))[1],
                      (array_agg(s.url order by s."timestamp", s.id) filter (where s.url is not null))[1]),
             coalesce((array_agg(s.path order by s."timestamp", s.id) filter (where s.type = 'page' and s.path is not null))[1],
                      (array_agg(s.path order by s."timestamp", s.id) filter (where s.path is not null))[1]),
             (array_agg(s.referrer order by s."timestamp", s.id) filter (where s.referrer is not null))[1],
             (array_agg(s.utm_source order by s."timestamp", s.id) filter (where s.utm_source is not null))[1],
             (array_agg(s.utm_medium order by s."timestamp", s.id) filter (where s.utm_medium is not null))[1],
             (array_agg(s.utm_campaign order by s."timestamp", s.id) filter (where s.utm_campaign is not null))[1],
             (array_agg(s.utm_term order by s."timestamp", s.id) filter (where s.utm_term is not null))[1],
             (array_agg(s.utm_content order by s."timestamp", s.id) filter (where s.utm_content is not null))[1],
             count(*),
             count(*) filter (where s.type = 'page'),
             coalesce(bool_or(s.event = 'Order Completed'), false),
             count(*) filter (where s.type = 'screen'),
             (array_agg(s.name order by s."timestamp", s.id) filter (where s.type = 'screen' and s.name is not null))[1]
        from (
          select max(case when m.starts_session then m."timestamp" end)
                   over (partition by m.customer_id order by m."timestamp", m.id rows unbounded preceding) as session_started_at,
                 m.*
            from (
              select p.*,
                     (p.previous_timestamp is null
                       or p."timestamp" - p.previous_timestamp > interval '30 minutes'
                       or (p.utm_campaign is not null and p.utm_campaign is distinct from substr(p.previous_campaign, 21))) as starts_session
                from (
                  select lag(e."timestamp") over w as previous_timestamp,
                         coalesce(
                           max(case when e.utm_campaign is not null
                                 then lpad((extract(epoch from e."timestamp") * 1000000)::bigint::text, 20, '0') || e.utm_campaign end)
                             over (w rows between unbounded preceding and 1 preceding),
                           b.campaign_before) as previous_campaign,
                         e.id, e.customer_id, e."timestamp", e.type, e.event, e.name, e.url, e.path, e.referrer,
                         e.utm_source, e.utm_medium, e.utm_campaign, e.utm_term, e.utm_content
                    from (select u.customer_id, u.starts,
                                 (select lpad((extract(epoch from c."timestamp") * 1000000)::bigint::text, 20, '0') || c.utm_campaign
                                    from events c
                                   where c.customer_id = u.customer_id and c."timestamp" < u.starts and c.utm_campaign is not null
                                   order by c."timestamp" desc, c.utm_campaign desc limit 1) as campaign_before
                            from unnest(customers, starts) as u(customer_id, starts)) b
                    join events e on e.customer_id = b.customer_id and e."timestamp" >= b.starts
                  window w as (partition by e.customer_id order by e."timestamp", e.id)
                ) p
            ) m
        ) s
       group by s.customer_id, s.session_started_at
    $fn$;

    -- The sessions of these customers from the last one that started before their earliest
    -- changed event ('changed_at'), worked out again. Customers hash onto 512 lock slots,
    -- taken in order, so that two transactions changing the same customer run one after the
    -- other (the second sees the first's events) without holding a lock per customer.
    create function tally_sessions_refresh(customers uuid[], changed_at timestamptz[]) returns void
    language plpgsql as $fn$
    declare
      ids uuid[];
      starts timestamptz[];
    begin
      perform pg_advisory_xact_lock(31251, l.slot)
         from (select distinct abs(hashtext(c::text)) % 512 as slot from unnest(customers) c where c is not null order by 1) l;

      select array_agg(a.customer_id),
             array_agg(coalesce((select max(s.started_at) from customer_sessions s
                                  where s.customer_id = a.customer_id and s.started_at < a.changed_at), '-infinity'))
        into ids, starts
        from (select u.customer_id, min(u.at) as changed_at
                from unnest(customers, changed_at) as u(customer_id, at)
               where u.customer_id is not null
               group by u.customer_id) a;
      if ids is null then
        return;
      end if;

      delete from customer_sessions s
       using unnest(ids, starts) as b(customer_id, starts)
       where s.customer_id = b.customer_id and s.started_at >= b.starts;
      insert into customer_sessions select * from tally_sessions_from(ids, starts);
    end
    $fn$;

    create function tally_sessions_added() returns trigger
    language plpgsql as $fn$
    declare
      customers uuid[];
      changed_at timestamptz[];
    begin
      select array_agg(a.customer_id), array_agg(a.first_at) into customers, changed_at
        from (select customer_id, min("timestamp") as first_at from added where customer_id is not null group by customer_id) a;
      if customers is not null then
        perform tally_sessions_refresh(customers, changed_at);
      end if;
      return null;
    end
    $fn$;

    -- After an update or a delete: every customer the changed rows belonged to, before or
    -- after, from the earliest time involved.
    create function tally_sessions_moved() returns trigger
    language plpgsql as $fn$
    declare
      customers uuid[];
      changed_at timestamptz[];
    begin
      if tg_op = 'UPDATE' then
        select array_agg(k.customer_id), array_agg(k.first_at) into customers, changed_at
          from (select m.customer_id, min(m."timestamp") as first_at
                  from (select customer_id, "timestamp" from before_change
                        union all
                        select customer_id, "timestamp" from after_change) m
                 where m.customer_id is not null
                 group by m.customer_id) k;
      else
        select array_agg(k.customer_id), array_agg(k.first_at) into customers, changed_at
          from (select customer_id, min("timestamp") as first_at from before_change where customer_id is not null group by customer_id) k;
      end if;
      if customers is not null then
        perform tally_sessions_refresh(customers, changed_at);
      end if;
      return null;
    end
    $fn$;

    create trigger events_sessions_added after insert on events
      referencing new table as added for each statement execute function tally_sessions_added();
    create trigger events_sessions_changed after update on events
      referencing old table as before_change new table as after_change for each statement execute function tally_sessions_moved();
    create trigger events_sessions_removed after delete on events
      referencing old table as before_change for each statement execute function tally_sessions_moved();

    -- Every session worked out again from all events: after a bulk load made with the
    -- triggers disabled.
    create function tally_sessions_rebuild() returns bigint
    language plpgsql as $fn$
    declare
      ids uuid[];
      n bigint;
    begin
      lock table customer_sessions in exclusive mode;
      delete from customer_sessions;
      select array_agg(distinct customer_id) into ids from events where customer_id is not null;
      if ids is null then
        return 0;
      end if;
      insert into customer_sessions
      select * from tally_sessions_from(ids, array_fill('-infinity'::timestamptz, array[cardinality(ids)]));
      get diagnostics n = row_count;
      return n;
    end
    $fn$;

    select tally_sessions_rebuild();

    create or replace view sessions as
    select session_id, customer_id, started_at, ended_at, ended_at - started_at as duration,
           landing_page, landing_path, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
           events, pageviews, completed_order
      from customer_sessions;
  `.execute(db);
  // Full landing URLs and referrers: marketers', as sessions is.
  await grantToRoles(db, { tally_marketer: ['select on customer_sessions'] });
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace view sessions as
    select
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
      coalesce(bool_or(event = 'Order Completed'), false) as completed_order
    from events_with_session
    group by session_id, customer_id;
    drop trigger events_sessions_removed on events;
    drop trigger events_sessions_changed on events;
    drop trigger events_sessions_added on events;
    drop function tally_sessions_rebuild();
    drop function tally_sessions_moved();
    drop function tally_sessions_added();
    drop function tally_sessions_refresh(uuid[], timestamptz[]);
    drop function tally_sessions_from(uuid[], timestamptz[]);
    drop table customer_sessions;
  `.execute(db);
  await createEventsWithSession(db, sql`md5(s.customer_id::text || '/' || s.session_started_at::text)::uuid`);
  await sql`drop function tally_session_id(uuid, timestamptz)`.execute(db);
}

/**
 * `events_with_session` with the given session id: `tally_session_id(...)` from this
 * migration on, and before it (for `down`) the md5 of the start as text in the reader's
 * time zone.
 */
async function createEventsWithSession(db: Kysely<any>, sessionId: RawBuilder<unknown>): Promise<void> {
  await sql`
    create or replace view events_with_session as
    select
      ${sessionId} as session_id,
      s.*
    from (
      select
        max(case when m.starts_session then m."timestamp" end)
          over (partition by m.customer_id order by m."timestamp", m.id rows unbounded preceding) as session_started_at,
        m.*
      from (
        select
          p.*,
          (p.previous_timestamp is null
            or p."timestamp" - p.previous_timestamp > interval '30 minutes'
            or (p.utm_campaign is not null and p.utm_campaign is distinct from substr(p.previous_campaign, 21))) as starts_session
        from (
          select
            lag(e."timestamp") over w as previous_timestamp,
            max(case when e.utm_campaign is not null
                  then lpad((extract(epoch from e."timestamp") * 1000000)::bigint::text, 20, '0') || e.utm_campaign end)
              over (w rows between unbounded preceding and 1 preceding) as previous_campaign,
            e.*
          from events e
          where e.customer_id is not null
          window w as (partition by e.customer_id order by e."timestamp", e.id)
        ) p
      ) m
    ) s
  `.execute(db);
}
