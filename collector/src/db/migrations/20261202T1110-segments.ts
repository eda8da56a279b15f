import { sql, type Kysely } from 'kysely';
import { grantToRoles } from '../role-grants.js';

/**
 * Segments (docs/sql.md, "Segments"):
 *
 * - `customer_rfm`: recency, frequency and monetary value scored 1–5 within the workspace
 *   (and within a currency: revenue is never summed across currencies), with the usual
 *   named groups.
 * - Behavioural segments: `cart_abandoners(within)`, `repeat_buyers`, `lapsed_customers(after)`.
 * - Saved segments: a named SQL definition in `segments`, its members by
 *   `segment_members(name, at)` and its size over time by `segment_counts(...)`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- A score of 1 to 5 from a percent rank (0 for the lowest value, 1 for the highest):
    -- equal values get equal scores, whatever their order.
    create function tally_quintile(percent_rank float8) returns integer
    language sql immutable parallel safe as $fn$
      select least(5, 1 + floor(5 * percent_rank))::integer
    $fn$;

    create view customer_rfm as
    with per_customer as (
      select customer_id, currency, orders, net_revenue, last_order_at,
             (now() at time zone 'UTC')::date - (last_order_at at time zone 'UTC')::date as recency_days
        from customer_revenue
       where orders > 0
    ),
    scored as (
      select p.*,
             tally_quintile(percent_rank() over (partition by currency order by recency_days desc)) as recency_score,
             tally_quintile(percent_rank() over (partition by currency order by orders)) as frequency_score,
             tally_quintile(percent_rank() over (partition by currency order by net_revenue)) as monetary_score
        from per_customer p
    )
    select customer_id, currency, recency_days, orders, net_revenue, last_order_at,
           recency_score, frequency_score, monetary_score,
           recency_score::text || frequency_score::text || monetary_score::text as rfm_cell,
           case
             when recency_score >= 4 and frequency_score >= 4 and monetary_score >= 4 then 'champions'
             when recency_score >= 3 and frequency_score >= 3 then 'loyal'
             when recency_score >= 4 then 'new'
             when recency_score <= 2 and frequency_score >= 3 then 'at risk'
             when recency_score <= 2 then 'hibernating'
             else 'needs attention'
           end as rfm_group
      from scored;

    -- Customers who added to the cart in the last 'within' and have not ordered since.
    -- Read from customer_event_days: one row per customer and day, not every event.
    create function cart_abandoners(within interval default '7 days')
    returns table (customer_id uuid, last_added_at timestamptz)
    language plpgsql stable as $fn$
    begin
      perform tally_check_positive(within, 'cart_abandoners', 'within');
      return query
      select a.customer_id, max(a.last_at)
        from customer_event_days a
       where a.event = 'Product Added' and a.day >= ((now() - within) at time zone 'UTC')::date and a.last_at >= now() - within
       group by a.customer_id
      having not exists (
        select 1 from customer_event_days o
         where o.event = 'Order Completed' and o.customer_id = a.customer_id
           and o.day >= (max(a.last_at) at time zone 'UTC')::date and o.last_at >= max(a.last_at))
       order by 1;
    end
    $fn$;

    create view repeat_buyers as
    select customer_id, count(*) as orders, min(completed_at) as first_order_at, max(completed_at) as last_order_at
      from order_revenue
     where customer_id is not null and not cancelled
     group by customer_id
    having count(*) >= 2;

    -- Customers who ordered, but not in the last 'after'.
    create function lapsed_customers(after interval default '90 days')
    returns table (customer_id uuid, orders bigint, last_order_at timestamptz)
    language plpgsql stable as $fn$
    begin
      perform tally_check_positive(after, 'lapsed_customers', 'after');
      return query
      select o.customer_id, count(*), max(o.completed_at)
        from order_revenue o
       where o.customer_id is not null and not o.cancelled
       group by o.customer_id
      having max(o.completed_at) < now() - after
       order by 1;
    end
    $fn$;

    -- A saved segment: a query returning a customer_id column. $1 in it is the time the
    -- segment is evaluated at (now, or each point of segment_counts), so that a definition
    -- written with it can be counted as it stood in the past.
    create table segments (
      name text primary key check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
      description text,
      definition text not null check (strpos(definition, ';') = 0),
      created_at timestamptz not null default now()
    );

    -- A definition is run once, returning nothing, before it is stored: one that does not
    -- run, or has no customer_id, is refused with the reason.
    create function tally_check_segment() returns trigger
    language plpgsql as $fn$
    begin
      -- A second statement after a ';' would run with the query: a definition is one query.
      if strpos(new.definition, ';') > 0 then
        raise exception 'segments: the definition of % is one query, without ";"', new.name using errcode = '22023';
      end if;
      begin
        execute format(e'select d.customer_id::uuid from (%s\n) d limit 0', new.definition) using now();
      exception when others then
        raise exception 'segments: the definition of % does not run as a query with a customer_id column: %', new.name, sqlerrm
          using errcode = '22023';
      end;
      return new;
    end
    $fn$;
    create trigger segments_checked before insert or update of definition on segments
      for each row execute function tally_check_segment();

    -- A saved segment's definition, or an error naming the caller when there is none.
    create function tally_segment_definition(segment text, caller text) returns text
    language plpgsql stable as $fn$
    declare
      definition text;
    begin
      select s.definition into definition from segments s where s.name = segment;
      if definition is null then
        raise exception '%: no saved segment is named %', caller, segment using errcode = '22023';
      end if;
      return definition;
    end
    $fn$;

    create function segment_members(segment text, at timestamptz default now())
    returns table (customer_id uuid)
    language plpgsql stable as $fn$
    declare
      query text;
    begin
      query := tally_segment_definition(segment, 'segment_members');
      if at is null then
        raise exception 'segment_members: at must be a time, got null' using errcode = '22023';
      end if;
      return query execute format(e'select distinct d.customer_id::uuid from (%s\n) d where d.customer_id is not null order by 1', query) using at;
    end
    $fn$;

    create function segment_counts(segment text, since timestamptz, until timestamptz, step interval default '1 day')
    returns table ("at" timestamptz, customers bigint)
    language plpgsql stable as $fn$
    declare
      query text;
      point timestamptz;
      n bigint;
    begin
      query := tally_segment_definition(segment, 'segment_counts');
      if since is null or until is null or since > until then
        raise exception 'segment_counts: since (%) must not be after until (%)', since, until using errcode = '22023';
      end if;
      if step is null or step <= interval '0' or since + step * 1000 < until then
        raise exception 'segment_counts: step must be a positive interval giving at most 1000 points, got %', step using errcode = '22023';
      end if;
      query := format(e'select count(distinct d.customer_id::uuid) from (%s\n) d', query);
      for point in select g from generate_series(since, until, step) g loop
        execute query into n using point;
        "at" := point;
        customers := n;
        return next;
      end loop;
    end
    $fn$;

    -- Every saved segment's members now: what customer_profiles lists per customer.
    create function tally_segment_memberships()
    returns table (segment text, customer_id uuid)
    language plpgsql stable as $fn$
    declare
      s record;
    begin
      for s in select name from segments order by name loop
        return query select s.name, m.customer_id from segment_members(s.name) m;
      end loop;
    end
    $fn$;
    create view segment_memberships as select * from tally_segment_memberships();
  `.execute(db);
  await grantToRoles(db, {
    tally_analyst: ['select on customer_rfm, repeat_buyers, segments'],
    tally_marketer: ['select on customer_rfm, repeat_buyers, segments, segment_memberships', 'insert, update, delete on segments'],
  });
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop view segment_memberships;
    drop function tally_segment_memberships();
    drop function segment_counts(text, timestamptz, timestamptz, interval);
    drop function segment_members(text, timestamptz);
    drop function tally_segment_definition(text, text);
    drop table segments;
    drop function tally_check_segment();
    drop function lapsed_customers(interval);
    drop view repeat_buyers;
    drop function cart_abandoners(interval);
    drop view customer_rfm;
    drop function tally_quintile(float8);
  `.execute(db);
}
