import { sql, type Kysely } from 'kysely';
import { grantToRoles } from '../role-grants.js';

/**
 * A/B tests (docs/sql.md, "Experiments"): `experiment_exposures`, one row per customer's
 * first exposure to an experiment, and `experiment_results(...)`, per variant the customers
 * exposed and converted, against the control with a two-proportion z-test.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- The standard normal distribution function Φ(z), by Abramowitz and Stegun 26.2.17
    -- (absolute error below 7.5e-8): Postgres 15 has no erf().
    create function tally_normal_cdf(z float8) returns float8
    language sql immutable parallel safe as $fn$
      select case when z >= 0 then 1 - tail else tail end
        from (select exp(-z * z / 2) / sqrt(2 * pi())
                     * (t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))))) as tail
                from (select 1 / (1 + 0.2316419 * abs(z)) as t) a) b
    $fn$;

    -- Each customer's first exposure to each experiment, and how many variants they saw.
    create view experiment_exposures as
    select customer_id,
           properties ->> 'experiment_id' as experiment_id,
           min("timestamp") as first_exposed_at,
           (array_agg(properties ->> 'variant_id' order by "timestamp", id))[1] as first_variant_id,
           count(distinct properties ->> 'variant_id') as variants
      from events
     where event = 'Experiment Viewed' and customer_id is not null and properties ->> 'experiment_id' is not null
     group by customer_id, properties ->> 'experiment_id';

    create function experiment_results(
      experiment text,
      goal_event text,
      since timestamptz,
      until timestamptz,
      control text default null
    ) returns table (
      variant_id text,
      variant_name text,
      is_control boolean,
      customers bigint,
      converted bigint,
      conversion_rate numeric,
      difference numeric,
      uplift numeric,
      ci_low numeric,
      ci_high numeric,
      z_score numeric,
      p_value numeric
    )
    language plpgsql stable security definer
    set jit = off
    as $fn$
    begin
      if experiment is null or goal_event is null then
        raise exception 'experiment_results: experiment and goal_event are required' using errcode = '22023';
      end if;
      perform tally_check_range(since, until, 'experiment_results');

      return query
      -- Each exposed customer once: their variant (or "several") and their first exposure.
      with firsts as (
        select e.customer_id, min(e."timestamp") as first_exposed_at,
               min(e.properties ->> 'variant_id') as variant_id,
               max(e.properties ->> 'variant_name') as variant_name,
               count(distinct e.properties ->> 'variant_id') as variants
          from events e
         where e.event = 'Experiment Viewed' and e.properties ->> 'experiment_id' = experiment
           and e."timestamp" >= since and e."timestamp" < until and e.customer_id is not null
           and e.properties ->> 'variant_id' is not null
         group by e.customer_id
      ),
      -- Who reached the goal after their first exposure, before until: the goal's events
      -- (read by the events index on (event, timestamp)) joined to the exposed customers,
      -- rather than one probe per exposed customer.
      reached as (
        select distinct g.customer_id
          from events g
          join firsts x on x.customer_id = g.customer_id
         where g.event = goal_event and g."timestamp" > x.first_exposed_at and g."timestamp" >= since and g."timestamp" < until
      ),
      exposed as (
        select x.customer_id, x.variant_id, x.variant_name, x.variants > 1 as several, r.customer_id is not null as converted
          from firsts x
          left join reached r on r.customer_id = x.customer_id
      ),
      per_variant as (
        select c.variant_id, max(c.variant_name) as variant_name, count(*) as n, count(*) filter (where c.converted) as x
          from exposed c
         where not c.several
         group by c.variant_id
      ),
      -- The control: the variant named, else the one whose id or name is "control", else
      -- the first variant id in alphabetical order.
      control_variant as (
        select coalesce(
          experiment_results.control,
          (select v.variant_id from per_variant v
            where lower(v.variant_id) = 'control' or lower(v.variant_name) = 'control' order by v.variant_id limit 1),
          (select min(v.variant_id) from per_variant v)) as id
      ),
      tested as (
        select v.*, k.variant_id = v.variant_id as is_control, v.x::float8 / v.n as p1, k.x::float8 / k.n as p0,
               v.x::float8 / v.n - k.x::float8 / k.n as diff,
               sqrt((v.x::float8 / v.n) * (1 - v.x::float8 / v.n) / v.n + (k.x::float8 / k.n) * (1 - k.x::float8 / k.n) / k.n) as se,
               case when v.x + k.x > 0 and v.x + k.x < v.n + k.n
                    then (v.x::float8 / v.n - k.x::float8 / k.n)
                         / sqrt(((v.x + k.x)::float8 / (v.n + k.n)) * (1 - (v.x + k.x)::float8 / (v.n + k.n)) * (1.0 / v.n + 1.0 / k.n)) end as z
          from per_variant v
          cross join control_variant cv
          left join per_variant k on k.variant_id = cv.id
      )
      select t.variant_id, t.variant_name, coalesce(t.is_control, false), t.n, t.x, round(t.p1::numeric, 4),
             case when not t.is_control then round(t.diff::numeric, 4) end,
             case when not t.is_control and t.p0 > 0 then round((t.diff / t.p0)::numeric, 4) end,
             case when not t.is_control then round((t.diff - 1.959963985 * t.se)::numeric, 4) end,
             case when not t.is_control then round((t.diff + 1.959963985 * t.se)::numeric, 4) end,
             case when not t.is_control then round(t.z::numeric, 4) end,
             case when not t.is_control then round((2 * (1 - tally_normal_cdf(abs(t.z))))::numeric, 6) end
        from tested t
      union all
      -- Customers seen in more than one variant: reported apart, in no variant's counts.
      select null, '(several variants)', false, count(*), count(*) filter (where c.converted),
             round(count(*) filter (where c.converted)::numeric / count(*), 4), null, null, null, null, null, null
        from exposed c
       where c.several
      having count(*) > 0
       order by 3 desc, 1 nulls last;
    end
    $fn$;

    do $do$
    begin
      execute format('alter function experiment_results(text, text, timestamptz, timestamptz, text) set search_path = %I, pg_temp', current_schema());
    end
    $do$;
    revoke all on function experiment_results(text, text, timestamptz, timestamptz, text) from public;
  `.execute(db);
  await grantToRoles(db, {
    tally_analyst: ['execute on function experiment_results(text, text, timestamptz, timestamptz, text)'],
    tally_marketer: ['execute on function experiment_results(text, text, timestamptz, timestamptz, text)', 'select on experiment_exposures'],
  });
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop function experiment_results(text, text, timestamptz, timestamptz, text);
    drop view experiment_exposures;
    drop function tally_normal_cdf(float8);
  `.execute(db);
}
