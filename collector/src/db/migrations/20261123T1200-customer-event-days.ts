import { sql, type Kysely } from 'kysely';
import { createFunnelOverEvents } from './20261123T1100-marketing.js';

/**
 * `customer_event_days`: one row per customer, track event name and UTC day, with the first
 * and last time the customer sent that event that day. Triggers on `events` keep it exact
 * through every write: the collector's inserts, identity stitching re-pointing events from
 * one customer to another, forgetting a customer, and any hand-made UPDATE or DELETE.
 *
 * `funnel()` counts who entered a funnel from these rows instead of from every first-step
 * event: a customer who viewed forty products in a day is one row here, not forty index
 * entries, and the table is narrow, so the count reads a fraction of what it read before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table customer_event_days (
      event text not null,
      customer_id uuid not null,
      day date not null,
      first_at timestamptz not null,
      last_at timestamptz not null,
      -- The funnel reads (event, customer_id, day, first_at, last_at) in customer order
      -- from this index alone.
      constraint customer_event_days_pkey primary key (event, customer_id, day) include (first_at, last_at)
    );
  `.execute(db);

  await createEventDaysFunctions(db);

  await sql`
    create trigger events_days_added after insert on events
      referencing new table as added for each statement execute function tally_event_days_added();
    create trigger events_days_changed after update on events
      referencing old table as before_change new table as after_change for each statement execute function tally_event_days_moved();
    create trigger events_days_removed after delete on events
      referencing old table as before_change for each statement execute function tally_event_days_moved();

    insert into customer_event_days (event, customer_id, day, first_at, last_at)
    select event, customer_id, ("timestamp" at time zone 'UTC')::date, min("timestamp"), max("timestamp")
      from events
     where event is not null and customer_id is not null
     group by 1, 2, 3;
  `.execute(db);

  await createFunnelOverEventDays(db);
}

/**
 * The trigger functions that keep `customer_event_days` equal to the events, as this migration
 * writes them; a later migration that replaces them puts these back on its way down.
 */
export async function createEventDaysFunctions(db: Kysely<any>): Promise<void> {
  await sql`
    -- New events widen their day's row. Keys are taken in order, so that two writers
    -- touching the same rows wait for each other rather than deadlock.
    create or replace function tally_event_days_added() returns trigger
    language plpgsql as $fn$
    begin
      insert into customer_event_days as d (event, customer_id, day, first_at, last_at)
      select a.event, a.customer_id, (a."timestamp" at time zone 'UTC')::date, min(a."timestamp"), max(a."timestamp")
        from added a
       where a.event is not null and a.customer_id is not null
       group by 1, 2, 3
       order by 1, 2, 3
      on conflict (event, customer_id, day) do update
        set first_at = least(d.first_at, excluded.first_at), last_at = greatest(d.last_at, excluded.last_at)
        where excluded.first_at < d.first_at or excluded.last_at > d.last_at;
      return null;
    end
    $fn$;

    -- Rows whose events moved or went away are worked out again from the events that remain.
    create or replace function tally_event_days_refresh(events text[], customers uuid[], days date[]) returns void
    language plpgsql as $fn$
    begin
      -- Lock the rows first, in key order. A writer adding events to one of them waits for
      -- this transaction and then widens the result; the statement below sees every event
      -- committed before the lock was taken.
      perform 1
         from customer_event_days d
         join (select distinct * from unnest(events, customers, days) as k(event, customer_id, day)) k
           on d.event = k.event and d.customer_id = k.customer_id and d.day = k.day
        order by d.event, d.customer_id, d.day
          for update of d;

      with keys as (
        select distinct * from unnest(events, customers, days) as k(event, customer_id, day)
      ),
      fresh as (
        select k.event, k.customer_id, k.day, min(e."timestamp") as first_at, max(e."timestamp") as last_at
          from keys k
          join events e
            on e.event = k.event and e.customer_id = k.customer_id
           and e."timestamp" >= k.day::timestamp at time zone 'UTC'
           and e."timestamp" < (k.day + 1)::timestamp at time zone 'UTC'
         group by 1, 2, 3
      ),
      updated as (
        update customer_event_days d set first_at = f.first_at, last_at = f.last_at
          from fresh f
         where d.event = f.event and d.customer_id = f.customer_id and d.day = f.day
        returning d.event, d.customer_id, d.day
      ),
      deleted as (
        delete from customer_event_days d
         using keys k
         where d.event = k.event and d.customer_id = k.customer_id and d.day = k.day
           and not exists (select 1 from fresh f where f.event = k.event and f.customer_id = k.customer_id and f.day = k.day)
      )
      -- A key that had no row (events moved in from another customer): a writer may be
      -- adding the same row right now, so merge with it rather than overwrite it.
      insert into customer_event_days as d (event, customer_id, day, first_at, last_at)
      select f.event, f.customer_id, f.day, f.first_at, f.last_at
        from fresh f
       where not exists (select 1 from updated u where u.event = f.event and u.customer_id = f.customer_id and u.day = f.day)
       order by 1, 2, 3
      on conflict (event, customer_id, day) do update
        set first_at = least(d.first_at, excluded.first_at), last_at = greatest(d.last_at, excluded.last_at);
    end
    $fn$;

    -- After an update (only rows whose event, customer or time changed) or a delete: the
    -- days the rows left and the days they moved to are worked out again.
    create or replace function tally_event_days_moved() returns trigger
    language plpgsql as $fn$
    declare
      events text[];
      customers uuid[];
      days date[];
    begin
      if tg_op = 'UPDATE' then
        select array_agg(k.event), array_agg(k.customer_id), array_agg(k.day)
          into events, customers, days
          from (select m.event, m.customer_id, (m."timestamp" at time zone 'UTC')::date as day
                  from before_change o join after_change n on n.id = o.id,
                       lateral (values (o.event, o.customer_id, o."timestamp"), (n.event, n.customer_id, n."timestamp")) m(event, customer_id, "timestamp")
                 where (o.event, o.customer_id, o."timestamp") is distinct from (n.event, n.customer_id, n."timestamp")) k
         where k.event is not null and k.customer_id is not null;
      else
        select array_agg(o.event), array_agg(o.customer_id), array_agg((o."timestamp" at time zone 'UTC')::date)
          into events, customers, days
          from before_change o
         where o.event is not null and o.customer_id is not null;
      end if;
      if events is not null then
        perform tally_event_days_refresh(events, customers, days);
      end if;
      return null;
    end
    $fn$;

  `.execute(db);
}

export async function createFunnelOverEventDays(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function funnel(
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
    language plpgsql stable
    set work_mem = '256MB'
    -- Compiling this one-off plan costs more than it saves; the scans of the first step's
    -- rows pay for parallel workers sooner than the default costs assume.
    set jit = off
    set parallel_setup_cost = 10
    set parallel_tuple_cost = 0.001
    -- Rows arrive in customer order from the indexes: counting customers as they stream past
    -- beats hashing half a million of them.
    set enable_hashagg = off
    as $fn$
    declare
      n integer := coalesce(cardinality(steps), 0);
      first_day date;
      last_day date;
      query text;
      k integer;
      entries text;
      reached text := '';
      counts text := '';
      medians text := '';
      breakdown_join text := '';
      breakdown_select text := 'null::text';
    begin
      if n < 1 or n > 20 then
        raise exception 'funnel: steps must name between 1 and 20 events, got %', n using errcode = '22023';
      end if;
      if array_position(steps, null) is not null then
        raise exception 'funnel: a step is null' using errcode = '22023';
      end if;
      if since is null or until is null or since >= until then
        raise exception 'funnel: since (%) must be before until (%)', since, until using errcode = '22023';
      end if;
      if within is null or within <= interval '0' then
        raise exception 'funnel: within must be a positive interval, got %', within using errcode = '22023';
      end if;
      if breakdown is not null and not exists (
        select 1 from information_schema.columns c
        where c.table_schema = current_schema() and c.table_name = 'events' and c.column_name = breakdown
          and c.column_name not in ('properties', 'traits', 'context')
      ) then
        raise exception 'funnel: breakdown must name a column of events (such as utm_source), got %', breakdown using errcode = '22023';
      end if;

      -- Who entered: customers with a first-step event in [since, until). A day row of
      -- customer_event_days holds such an event exactly when its last event is at or after
      -- since and its first before until, provided since and until fall on different days
      -- (a row of since's day ends before until, a row of until's day starts after since).
      -- When both fall on one day, a row can straddle the range with nothing inside it, so
      -- that day is read from the events themselves (a day's events: a short read).
      first_day := (since at time zone 'UTC')::date;
      last_day := ((until - interval '1 microsecond') at time zone 'UTC')::date;
      if first_day = last_day then
        entries := 'select customer_id, "timestamp" as first_at from events
                     where event = $1[1] and "timestamp" >= $2 and "timestamp" < $3 and customer_id is not null';
      else
        entries := 'select customer_id, first_at from customer_event_days
                     where event = $1[1] and day >= $6 and day <= $7 and last_at >= $2 and first_at < $3';
      end if;

      -- Who went on: the ordered matching reads only the later steps' events (usually far
      -- fewer than the first step's). For each second-step event, the latest first-step event
      -- before it, within the window and in [since, until), is one backward probe of the
      -- events index (event, customer_id, timestamp): the latest start leaves the most of the
      -- window, so it decides whether the event completes step 2. A second-step event with no
      -- start is dropped unless it also names a later step. Level k (k > 2) carries, for each
      -- step-k event, the latest start from which steps 1..k-1 were done in order strictly
      -- before it (a running max over the earlier step-(k-1) events); the event completes step
      -- k exactly when that start is within the window. One sort by (customer, time) serves
      -- every level.
      query :=
        'select l.customer_id, l.ts, l.ev, f.s2, f.s2 as p2
           from (select e.customer_id, e."timestamp" as ts, e.event as ev from events e
                  where e.event = any($1[2:]) and e."timestamp" >= $2 and e."timestamp" < $3 + $4 and e.customer_id is not null) l
           left join lateral (
             select max(p."timestamp") as s2 from events p
              where l.ev = $1[2] and p.event = $1[1] and p.customer_id = l.customer_id
                and p."timestamp" >= greatest($2, l.ts - $4) and p."timestamp" < least($3, l.ts)) f on true
          where f.s2 is not null or l.ev = any($1[3:])';
      for k in 3..n loop
        query := format(
          'select l.*, case when l.ev = $1[%1$s] and l.ts - l.m%1$s <= $4 then l.m%1$s end as s%1$s,
                  case when l.ev = $1[%1$s] and l.ts - l.m%1$s <= $4 then l.q%1$s end as p%1$s
             from (select f.*,
                          max(case when f.ev = $1[%2$s] then f.s%2$s end) over w as m%1$s,
                          max(case when f.ev = $1[%2$s] and f.s%2$s is not null then f.ts end) over w as q%1$s
                     from (%3$s) f
                   window w as (partition by f.customer_id order by f.ts range between unbounded preceding and ''1 microsecond'' preceding)) l',
          k, k - 1, query);
      end loop;

      for k in 2..n loop
        reached := reached || format(', bool_or(s%1$s is not null) as r%1$s', k);
        -- For each customer, the time from the previous step to the first completion of this step.
        reached := reached || format(
          ', (min(array[date_part(''epoch'', ts), date_part(''epoch'', ts - p%1$s)]) filter (where s%1$s is not null))[2] as g%1$s', k);
      end loop;
      for k in 1..n loop
        counts := counts || case when k > 1 then format(', count(*) filter (where c.r%s)', k)
                                 when breakdown is null then '(select count(*) from (select customer_id from entries group by customer_id) entered)'
                                 else 'count(*)' end;
        medians := medians || format('%s percentile_cont(0.5) within group (order by c.g%s) filter (where c.r%s)',
          case when k > 1 then ',' else '' end, k, k);
      end loop;

      if breakdown is not null then
        -- Each entered customer's entry time: the earliest first-step event in [since,
        -- until). Only a row of since's day can start before since; its customer's entry is
        -- then looked up among that day's events.
        breakdown_select := 'b.value';
        breakdown_join := format(
          'cross join lateral (
             select case when pc.first_at >= $2 then pc.first_at
                         else (select min(e."timestamp") from events e
                                where e.event = $1[1] and e.customer_id = pc.customer_id and e."timestamp" >= $2 and e."timestamp" < $3)
                    end as entered_at) ea
           left join lateral (
             select e.%1$I::text as value from events e
              where e.customer_id = pc.customer_id and e."timestamp" <= ea.entered_at and e.%1$I is not null
              order by e."timestamp" desc limit 1) b on true', breakdown);
      end if;

      -- Without a breakdown, the first step's count is a plain count of the entered customers
      -- (aggregated in parallel) and the later steps' come from went_on alone: anyone who
      -- reached step 2 entered. A breakdown needs each entered customer's entry time.
      query := format(
        'with entries as (%1$s),
         went_on as (
           select customer_id, true as r1, null::float8 as g1 %2$s
             from (%3$s) chains
            group by customer_id
         ),
         per_group as (
           select %4$s as breakdown_value, array[%5$s]::bigint[] as counts, array[%6$s]::float8[] as medians
             from %7$s
            %8$s
         )
         select k::integer, $1[k], g.breakdown_value, g.counts[k],
                case when k = 1 then 1::numeric when g.counts[k - 1] > 0 then round(g.counts[k]::numeric / g.counts[k - 1], 4) end,
                case when g.counts[1] > 0 then round(g.counts[k]::numeric / g.counts[1], 4) end,
                case when k > 1 then make_interval(secs => g.medians[k]) end
           from per_group g, generate_series(1, $5) k
          order by g.breakdown_value nulls last, k',
        entries, reached, query, breakdown_select, counts, medians,
        case when breakdown is null then 'went_on c'
             else '(select customer_id, min(first_at) as first_at from entries group by customer_id) pc
                   left join went_on c on c.customer_id = pc.customer_id ' || breakdown_join end,
        case when breakdown is not null then 'group by 1' else '' end);

      return query execute query using steps, since, until, within, n, first_day, last_day;
    end
    $fn$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await createFunnelOverEvents(db);
  await sql`
    drop trigger events_days_removed on events;
    drop trigger events_days_changed on events;
    drop trigger events_days_added on events;
    drop function tally_event_days_moved();
    drop function tally_event_days_refresh(text[], uuid[], date[]);
    drop function tally_event_days_added();
    drop table customer_event_days;
  `.execute(db);
}
