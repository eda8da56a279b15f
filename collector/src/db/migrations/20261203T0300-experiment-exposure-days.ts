import { sql, type Kysely } from 'kysely';
import { grantToRoles } from '../role-grants.js';

/**
 * `experiment_exposure_days`: one row per experiment, customer, UTC day and variant the
 * customer was shown that day (`Experiment Viewed` with an `experiment_id` and a `variant_id`),
 * with the first and last exposure of that day and the greatest `variant_name` sent with it.
 * Triggers on `events` keep it exact through every write, as `customer_event_days` is kept:
 * the collector's inserts, identity stitching re-pointing events, forgetting a customer, and
 * any UPDATE or DELETE by hand.
 *
 * `experiment_results(...)` reads the days wholly inside its range from here instead of
 * fetching every exposure from the events' heap (half a million scattered rows for one test
 * over a month: most of its 7 s); only the part-days at either end of a range that does not
 * start or end at midnight UTC are read from the events. Its answers do not change.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table experiment_exposure_days (
      experiment_id text not null,
      customer_id uuid not null,
      day date not null,
      variant_id text not null,
      first_at timestamptz not null,
      last_at timestamptz not null,
      variant_name text,
      -- experiment_results reads one experiment's rows in customer order from this index alone.
      constraint experiment_exposure_days_pkey primary key (experiment_id, customer_id, day, variant_id) include (first_at, variant_name)
    );

    -- New exposures widen their day's row. Keys are taken in order, so that two writers
    -- touching the same rows wait for each other rather than deadlock.
    create function tally_exposure_days_added() returns trigger
    language plpgsql as $fn$
    begin
      insert into experiment_exposure_days as d (experiment_id, customer_id, day, variant_id, first_at, last_at, variant_name)
      select a.properties ->> 'experiment_id', a.customer_id, (a."timestamp" at time zone 'UTC')::date, a.properties ->> 'variant_id',
             min(a."timestamp"), max(a."timestamp"), max(a.properties ->> 'variant_name')
        from added a
       where a.event = 'Experiment Viewed' and a.customer_id is not null
         and a.properties ->> 'experiment_id' is not null and a.properties ->> 'variant_id' is not null
       group by 1, 2, 3, 4
       order by 1, 2, 3, 4
      on conflict (experiment_id, customer_id, day, variant_id) do update
        set first_at = least(d.first_at, excluded.first_at), last_at = greatest(d.last_at, excluded.last_at),
            variant_name = greatest(d.variant_name, excluded.variant_name)
        where excluded.first_at < d.first_at or excluded.last_at > d.last_at
           or greatest(d.variant_name, excluded.variant_name) is distinct from d.variant_name;
      return null;
    end
    $fn$;

    -- Rows whose exposures moved or went away are worked out again from the events that remain.
    create function tally_exposure_days_refresh(experiments text[], customers uuid[], days date[], variants text[]) returns void
    language plpgsql as $fn$
    begin
      -- Lock the rows first, in key order (see tally_event_days_refresh).
      perform 1
         from experiment_exposure_days d
         join (select distinct * from unnest(experiments, customers, days, variants) as k(experiment_id, customer_id, day, variant_id)) k
           on d.experiment_id = k.experiment_id and d.customer_id = k.customer_id and d.day = k.day and d.variant_id = k.variant_id
        order by d.experiment_id, d.customer_id, d.day, d.variant_id
          for update of d;

      with keys as (
        select distinct * from unnest(experiments, customers, days, variants) as k(experiment_id, customer_id, day, variant_id)
      ),
      fresh as (
        select k.experiment_id, k.customer_id, k.day, k.variant_id,
               min(e."timestamp") as first_at, max(e."timestamp") as last_at, max(e.properties ->> 'variant_name') as variant_name
          from keys k
          join events e
            on e.event = 'Experiment Viewed' and e.customer_id = k.customer_id
           and e."timestamp" >= k.day::timestamp at time zone 'UTC'
           and e."timestamp" < (k.day + 1)::timestamp at time zone 'UTC'
           and e.properties ->> 'experiment_id' = k.experiment_id and e.properties ->> 'variant_id' = k.variant_id
         group by 1, 2, 3, 4
      ),
      updated as (
        update experiment_exposure_days d set first_at = f.first_at, last_at = f.last_at, variant_name = f.variant_name
          from fresh f
         where d.experiment_id = f.experiment_id and d.customer_id = f.customer_id and d.day = f.day and d.variant_id = f.variant_id
        returning d.experiment_id, d.customer_id, d.day, d.variant_id
      ),
      deleted as (
        delete from experiment_exposure_days d
         using keys k
         where d.experiment_id = k.experiment_id and d.customer_id = k.customer_id and d.day = k.day and d.variant_id = k.variant_id
           and not exists (select 1 from fresh f
                            where f.experiment_id = k.experiment_id and f.customer_id = k.customer_id and f.day = k.day and f.variant_id = k.variant_id)
      )
      -- A key that had no row (exposures moved in from another customer): a writer may be
      -- adding the same row right now, so merge with it rather than overwrite it.
      insert into experiment_exposure_days as d (experiment_id, customer_id, day, variant_id, first_at, last_at, variant_name)
      select f.experiment_id, f.customer_id, f.day, f.variant_id, f.first_at, f.last_at, f.variant_name
        from fresh f
       where not exists (select 1 from updated u
                          where u.experiment_id = f.experiment_id and u.customer_id = f.customer_id and u.day = f.day and u.variant_id = f.variant_id)
       order by 1, 2, 3, 4
      on conflict (experiment_id, customer_id, day, variant_id) do update
        set first_at = least(d.first_at, excluded.first_at), last_at = greatest(d.last_at, excluded.last_at),
            variant_name = greatest(d.variant_name, excluded.variant_name);
    end
    $fn$;

    -- After an update (only exposures whose customer, time, event or properties changed) or a
    -- delete: the rows the exposures left and the rows they moved to are worked out again.
    create function tally_exposure_days_moved() returns trigger
    language plpgsql as $fn$
    declare
      experiments text[];
      customers uuid[];
      days date[];
      variants text[];
    begin
      if tg_op = 'UPDATE' then
        select array_agg(k.experiment_id), array_agg(k.customer_id), array_agg(k.day), array_agg(k.variant_id)
          into experiments, customers, days, variants
          from (select m.properties ->> 'experiment_id' as experiment_id, m.customer_id,
                       (m."timestamp" at time zone 'UTC')::date as day, m.properties ->> 'variant_id' as variant_id
                  from before_change o join after_change n on n.id = o.id,
                       lateral (values (o.event, o.customer_id, o."timestamp", o.properties), (n.event, n.customer_id, n."timestamp", n.properties))
                         m(event, customer_id, "timestamp", properties)
                 where (o.event = 'Experiment Viewed' or n.event = 'Experiment Viewed')
                   and (o.event, o.customer_id, o."timestamp", o.properties) is distinct from (n.event, n.customer_id, n."timestamp", n.properties)
                   and m.event = 'Experiment Viewed') k
         where k.experiment_id is not null and k.customer_id is not null and k.variant_id is not null;
      else
        select array_agg(o.properties ->> 'experiment_id'), array_agg(o.customer_id), array_agg((o."timestamp" at time zone 'UTC')::date),
               array_agg(o.properties ->> 'variant_id')
          into experiments, customers, days, variants
          from before_change o
         where o.event = 'Experiment Viewed' and o.customer_id is not null
           and o.properties ->> 'experiment_id' is not null and o.properties ->> 'variant_id' is not null;
      end if;
      if experiments is not null then
        perform tally_exposure_days_refresh(experiments, customers, days, variants);
      end if;
      return null;
    end
    $fn$;

    create trigger events_exposures_added after insert on events
      referencing new table as added for each statement execute function tally_exposure_days_added();
    create trigger events_exposures_changed after update on events
      referencing old table as before_change new table as after_change for each statement execute function tally_exposure_days_moved();
    create trigger events_exposures_removed after delete on events
      referencing old table as before_change for each statement execute function tally_exposure_days_moved();

    insert into experiment_exposure_days (experiment_id, customer_id, day, variant_id, first_at, last_at, variant_name)
    select properties ->> 'experiment_id', customer_id, ("timestamp" at time zone 'UTC')::date, properties ->> 'variant_id',
           min("timestamp"), max("timestamp"), max(properties ->> 'variant_name')
      from events
     where event = 'Experiment Viewed' and customer_id is not null
       and properties ->> 'experiment_id' is not null and properties ->> 'variant_id' is not null
     group by 1, 2, 3, 4;
  `.execute(db);

  await createExperimentResults(db, 'exposure days');
  await grantToRoles(db, { tally_analyst: ['select on experiment_exposure_days'], tally_marketer: ['select on experiment_exposure_days'] });
}

export async function down(db: Kysely<any>): Promise<void> {
  await createExperimentResults(db, 'events');
  await sql`
    drop trigger events_exposures_removed on events;
    drop trigger events_exposures_changed on events;
    drop trigger events_exposures_added on events;
    drop function tally_exposure_days_moved();
    drop function tally_exposure_days_refresh(text[], uuid[], date[], text[]);
    drop function tally_exposure_days_added();
    drop table experiment_exposure_days;
  `.execute(db);
}

/**
 * `experiment_results(...)`; its exposures read from `experiment_exposure_days` for the whole
 * UTC days of the range (`exposure days`), or every one from the events as 20261202T1120 made
 * it (`events`, kept for `down`).
 */
export async function createExperimentResults(db: Kysely<any>, exposuresFrom: 'exposure days' | 'events'): Promise<void> {
  const fromEvents = (range: string) => `select e.customer_id, e."timestamp" as first_at, e.properties ->> 'variant_id' as variant_id,
                  e.properties ->> 'variant_name' as variant_name
             from events e
            where e.event = 'Experiment Viewed' and e.properties ->> 'experiment_id' = experiment and ${range}
              and e.customer_id is not null and e.properties ->> 'variant_id' is not null`;
  const fromDays = `select d.customer_id, d.first_at, d.variant_id, d.variant_name
             from experiment_exposure_days d
            where d.experiment_id = experiment and d.day >= full_from and d.day < full_to`;
  // A range of whole UTC days reads the day rows alone, in customer order from their index,
  // so that each customer's rows are grouped as they stream past; otherwise the part-days at
  // either end come from the events too. Every aggregate below gives the same whether a day's
  // exposures come as events or as a day row.
  const body =
    exposuresFrom === 'events'
      ? `return query ${resultsQuery(fromEvents('e."timestamp" >= since and e."timestamp" < until'))};`
      : `if head_end = since and tail_start = until then
        return query ${resultsQuery(fromDays)};
      else
        return query ${resultsQuery(`${fromDays}
           union all
           ${fromEvents('e."timestamp" >= since and e."timestamp" < head_end')}
           union all
           ${fromEvents('e."timestamp" >= tail_start and e."timestamp" < until')}`)};
      end if;`;
  await sql
    .raw(
      `
    create or replace function experiment_results(
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
    set work_mem = '64MB'
    as $fn$
    declare
      -- The whole UTC days of [since, until), [full_from, full_to), read from the day rows;
      -- the part-days before and after them, [since, head_end) and [tail_start, until), from
      -- the events (both empty when the range starts and ends at midnight).
      full_from date := ((since - interval '1 microsecond') at time zone 'UTC')::date + 1;
      full_to date := (until at time zone 'UTC')::date;
      head_end timestamptz;
      tail_start timestamptz;
    begin
      if experiment is null or goal_event is null then
        raise exception 'experiment_results: experiment and goal_event are required' using errcode = '22023';
      end if;
      perform tally_check_range(since, until, 'experiment_results');
      if full_from < full_to then
        head_end := full_from::timestamp at time zone 'UTC';
        tail_start := full_to::timestamp at time zone 'UTC';
      else
        -- No whole day inside the range: every exposure from the events.
        head_end := until;
        tail_start := until;
      end if;

      ${body}
    end
    $fn$;`,
    )
    .execute(db);
  // Replacing a function resets its settings: the security definer runs on Tally's schema only.
  await sql`
    do $do$
    begin
      execute format('alter function experiment_results(text, text, timestamptz, timestamptz, text) set search_path = %I, pg_temp', current_schema());
    end
    $do$;
  `.execute(db);
}

/**
 * The statement of `experiment_results` over `exposures` (a query giving customer_id, first_at,
 * variant_id and variant_name of each exposure, or of each day's first exposure, in range).
 */
function resultsQuery(exposures: string): string {
  return `
      with exposures as (
        ${exposures}
      ),
      -- Each exposed customer once: their variant (or "several") and their first exposure.
      firsts as (
        select x.customer_id, min(x.first_at) as first_exposed_at, min(x.variant_id) as variant_id,
               max(x.variant_name) as variant_name, min(x.variant_id) <> max(x.variant_id) as several
          from exposures x
         group by x.customer_id
      ),
      -- Each customer's last goal event in [since, until): they converted when it followed
      -- their first exposure. Read from the events index on (event, customer_id, timestamp),
      -- and joined to the exposed customers by hash rather than probed once per customer.
      goals as (
        select g.customer_id, max(g."timestamp") as last_at
          from events g
         where g.event = goal_event and g."timestamp" >= since and g."timestamp" < until and g.customer_id is not null
         group by g.customer_id
      ),
      exposed as (
        select x.customer_id, x.variant_id, x.variant_name, x.several, coalesce(g.last_at > x.first_exposed_at, false) as converted
          from firsts x
          left join goals g on g.customer_id = x.customer_id
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
       order by 3 desc, 1 nulls last`;
}
