import { sql, type Kysely } from 'kysely';

/**
 * What marketers query: `orders`, `order_items`, `events_with_session`, `sessions`,
 * `customer_profiles` and `funnel(...)`. Documented in docs/sql.md; every name and column
 * here is part of the public interface.
 *
 * Sessions are computed when queried, from `customer_id` and `timestamp`, never stored:
 * when identity stitching merges two customers and re-points their events, the sessions
 * are right at the next query with nothing to recompute.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- A number in a JSON value: a JSON number or a numeric string; anything else is null,
    -- so that one malformed property never breaks a view.
    create function json_number(value jsonb) returns numeric
    language sql immutable parallel safe as $fn$
      select case
        when jsonb_typeof(value) = 'number' then (value #>> '{}')::numeric
        when jsonb_typeof(value) = 'string' and (value #>> '{}') ~ '^\s*-?[0-9]+(\.[0-9]+)?\s*$' then trim(value #>> '{}')::numeric
      end
    $fn$;

    -- One row per order (an 'Order Completed' event), counted once even when the shop
    -- reports the same order_id twice.
    create view orders as
    select distinct on (order_key)
      coalesce(e.properties ->> 'order_id', e.message_id) as order_id,
      e.customer_id,
      e."timestamp" as completed_at,
      coalesce(
        json_number(e.properties -> 'revenue'),
        json_number(e.properties -> 'total'),
        (select sum(json_number(p -> 'price') * coalesce(json_number(p -> 'quantity'), 1))
           from jsonb_array_elements(case when jsonb_typeof(e.properties -> 'products') = 'array' then e.properties -> 'products' else '[]' end) p),
        0
      ) as revenue,
      e.properties ->> 'currency' as currency,
      case when jsonb_typeof(e.properties -> 'products') = 'array' then e.properties -> 'products' else '[]' end as products,
      e.id as event_id
    from (select *, coalesce(properties ->> 'order_id', 'message:' || source_id || ':' || message_id) as order_key
            from events where event = 'Order Completed') e
    order by order_key, e."timestamp", e.id;

    -- One row per product line of an order.
    create view order_items as
    select
      o.order_id,
      o.customer_id,
      o.completed_at,
      coalesce(p ->> 'product_id', p ->> 'sku') as product_id,
      p ->> 'sku' as sku,
      p ->> 'name' as name,
      json_number(p -> 'price') as price,
      coalesce(json_number(p -> 'quantity'), 1) as quantity
    from orders o, jsonb_array_elements(o.products) p;

    -- Every event with the session it belongs to. A customer's session ends after 30 minutes
    -- without an event; an event that carries a UTM campaign other than the last one seen
    -- for that customer starts a new session too.
    create view events_with_session as
    select
      md5(s.customer_id::text || '/' || s.session_started_at::text)::uuid as session_id,
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
            -- The last campaign seen before this event: the greatest "time-stamped" campaign
            -- (20 digits of epoch microseconds, then the campaign) among the earlier events.
            max(case when e.utm_campaign is not null
                  then lpad((extract(epoch from e."timestamp") * 1000000)::bigint::text, 20, '0') || e.utm_campaign end)
              over (w rows between unbounded preceding and 1 preceding) as previous_campaign,
            e.*
          from events e
          where e.customer_id is not null
          window w as (partition by e.customer_id order by e."timestamp", e.id)
        ) p
      ) m
    ) s;

    create view sessions as
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

    -- One row per customer. Traits are the latest value each trait was given (identify
    -- calls, or traits sent in context); consent is the state carried by the latest event.
    create view customer_profiles as
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
      c.devices
    from per_customer c
    left join per_customer_sessions s using (customer_id)
    left join per_customer_orders o using (customer_id);

    -- The funnel reads only (event, customer_id, timestamp) of the steps' events: an
    -- index-only scan in customer order that never touches the table, and one probe per
    -- second-step event for the latest first step before it.
    create index events_event_customer_timestamp on events (event, customer_id, "timestamp");
    -- The breakdown looks up a customer's last campaign before entering a funnel.
    create index events_customer_campaign on events (customer_id, "timestamp")
      include (utm_source, utm_medium, utm_campaign, utm_term, utm_content)
      where utm_source is not null or utm_medium is not null or utm_campaign is not null;
  `.execute(db);

  await createFunnelOverEvents(db);
}

/**
 * The first `funnel()`, which reads the first step's entries from the events index. Kept
 * apart so that the next migration's `down` can put it back.
 */
export async function createFunnelOverEvents(db: Kysely<any>): Promise<void> {
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
    -- index pay for parallel workers sooner than the default costs assume.
    set jit = off
    set parallel_setup_cost = 10
    set parallel_tuple_cost = 0.001
    as $fn$
    declare
      n integer := coalesce(cardinality(steps), 0);
      query text;
      k integer;
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

      -- Who entered: customers with a first-step event in [since, until), read in customer
      -- order from the index (event, customer_id, timestamp) without touching the table.
      --
      -- Who went on: the ordered matching reads only the later steps' events (usually far
      -- fewer than the first step's). For each second-step event, the latest first-step event
      -- before it, within the window and in [since, until), is one probe of the same index:
      -- the latest start leaves the most of the window, so it decides whether the event
      -- completes step 2. Level k (k > 2) carries, for each step-k event, the latest start
      -- from which steps 1..k-1 were done in order before it (a running max over the earlier
      -- step-(k-1) events); the event completes step k exactly when that start is within the
      -- window. One sort by (customer, time) serves every level.
      query :=
        'select e.customer_id, e."timestamp" as ts, e.event as ev, f.s2, f.s2 as p2
           from events e
           left join lateral (
             select max(p."timestamp") as s2 from events p
              where e.event = $1[2] and p.event = $1[1] and p.customer_id = e.customer_id
                and p."timestamp" >= greatest($2, e."timestamp" - $4) and p."timestamp" < least($3, e."timestamp")) f on true
          where e.event = any($1[2:]) and e."timestamp" >= $2 and e."timestamp" < $3 + $4 and e.customer_id is not null';
      for k in 3..n loop
        query := format(
          'select l.*, case when l.ev = $1[%1$s] and l.ts - l.m%1$s <= $4 then l.m%1$s end as s%1$s,
                  case when l.ev = $1[%1$s] and l.ts - l.m%1$s <= $4 then l.q%1$s end as p%1$s
             from (select f.*,
                          max(case when f.ev = $1[%2$s] then f.s%2$s end) over w as m%1$s,
                          max(case when f.ev = $1[%2$s] and f.s%2$s is not null then f.ts end) over w as q%1$s
                     from (%3$s) f
                   window w as (partition by f.customer_id order by f.ts rows between unbounded preceding and 1 preceding)) l',
          k, k - 1, query);
      end loop;

      for k in 2..n loop
        reached := reached || format(', bool_or(s%1$s is not null) as r%1$s', k);
        -- For each customer, the time from the previous step to the first completion of this step.
        reached := reached || format(
          ', (min(array[extract(epoch from ts)::float8, extract(epoch from ts - p%1$s)::float8]) filter (where s%1$s is not null))[2] as g%1$s', k);
      end loop;
      for k in 1..n loop
        counts := counts || case when k > 1 then format(', count(*) filter (where c.r%s)', k)
                                 when breakdown is null then '(select count(*) from entered)'
                                 else 'count(*)' end;
        medians := medians || format('%s percentile_cont(0.5) within group (order by c.g%s) filter (where c.r%s)',
          case when k > 1 then ',' else '' end, k, k);
      end loop;

      if breakdown is not null then
        breakdown_select := 'b.value';
        breakdown_join := format(
          'left join lateral (
             select e.%1$I::text as value from events e
              where e.customer_id = pc.customer_id and e."timestamp" <= pc.entered_at and e.%1$I is not null
              order by e."timestamp" desc limit 1) b on true', breakdown);
      end if;

      -- Without a breakdown, the first step's count is a plain count of the entered customers
      -- (aggregated in parallel) and the later steps' come from went_on alone: anyone who
      -- reached step 2 entered. A breakdown needs each entered customer's entry time.
      query := format(
        'with entered as (
           select customer_id, min("timestamp") as entered_at
             from events
            where event = $1[1] and "timestamp" >= $2 and "timestamp" < $3 and customer_id is not null
            group by customer_id
         ),
         went_on as (
           select customer_id, true as r1, null::float8 as g1 %1$s
             from (%2$s) chains
            group by customer_id
         ),
         per_group as (
           select %3$s as breakdown_value, array[%4$s]::bigint[] as counts, array[%5$s]::float8[] as medians
             from %6$s
            %7$s
         )
         select k::integer, $1[k], g.breakdown_value, g.counts[k],
                case when k = 1 then 1::numeric when g.counts[k - 1] > 0 then round(g.counts[k]::numeric / g.counts[k - 1], 4) end,
                case when g.counts[1] > 0 then round(g.counts[k]::numeric / g.counts[1], 4) end,
                case when k > 1 then make_interval(secs => g.medians[k]) end
           from per_group g, generate_series(1, $5) k
          order by g.breakdown_value nulls last, k',
        reached, query, breakdown_select, counts, medians,
        case when breakdown is null then 'went_on c'
             else 'entered pc left join went_on c on c.customer_id = pc.customer_id ' || breakdown_join end,
        case when breakdown is not null then 'group by 1' else '' end);

      return query execute query using steps, since, until, within, n;
    end
    $fn$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop function funnel(text[], timestamptz, timestamptz, interval, text);
    drop index events_customer_campaign;
    drop index events_event_customer_timestamp;
    drop view customer_profiles;
    drop view sessions;
    drop view events_with_session;
    drop view order_items;
    drop view orders;
    drop function json_number(jsonb);
  `.execute(db);
}
