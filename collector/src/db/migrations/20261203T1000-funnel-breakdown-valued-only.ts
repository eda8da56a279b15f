import { sql, type Kysely } from 'kysely';
import { up as createFunnelOneProcess } from './20261203T0900-funnel-one-process.js';

/**
 * `funnel(...)` by a campaign column (`utm_source`, `utm_medium`, `utm_campaign`) answers as
 * before, faster (docs/sql.md, "How it stays fast"): the entered customers are merged with the
 * campaign rows in customer order instead of hashing either side, and only the customers who
 * have a value are grouped by value; the customers without one make the null row, counted
 * without sorting every entered customer by value. Other breakdowns and the plain funnel run
 * as in 20261203T0900-funnel-one-process.
 *
 * Measured on 10 million events (`pnpm bench:funnel`) against the function of
 * 20261203T0900-funnel-one-process, alternated in one session: the figures are in docs/sql.md.
 * `down` puts that function back.
 */
/** The statement that creates this migration's `funnel(...)`; a later migration may derive its own from it. */
export function funnelFunctionSql(): string {
  return `
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
    -- Compiling this one-off plan costs more than it saves. No parallel workers: the first
    -- step's day rows are read in customer order from the primary key of customer_event_days
    -- and counted as they stream past; split over workers, the per-customer groups are merged
    -- again through one process, which measured slower than one process reading alone (and
    -- the backward probes of the later steps run in the leader only, whatever the plan).
    set jit = off
    set max_parallel_workers_per_gather = 0
    -- Rows arrive in customer order from the indexes: counting customers as they stream past
    -- beats hashing half a million of them.
    set enable_hashagg = off
    -- Named here so that a breakdown by a campaign column can turn it off for its own query
    -- (set_config below) and the setting ends with the call.
    set enable_hashjoin = on
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
      counts_rest text := '';
      valued text := '';
      pc_campaign text := '';
      breakdown_join text := '';
      breakdown_select text := 'null::text';
      -- breakdown => 'experiment:<experiment_id>': by the variant of that A/B test.
      experiment text := substring(breakdown from '^experiment:(.+)$');
      -- Each entered customer's entry time: the earliest first-step event in [since, until).
      -- Only a row of since's day can start before since; its customer's entry is then
      -- looked up among that day's events.
      entered_at text := 'case when pc.first_at >= $2 then pc.first_at
                               else (select min(e."timestamp") from events e
                                      where e.event = $1[1] and e.customer_id = pc.customer_id and e."timestamp" >= $2 and e."timestamp" < $3)
                          end';
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
      if breakdown is not null and experiment is null and not exists (
        select 1 from information_schema.columns c
        where c.table_schema = current_schema() and c.table_name = 'events' and c.column_name = breakdown
          and c.column_name not in ('properties', 'traits', 'context')
      ) then
        raise exception 'funnel: breakdown must name a column of events (such as utm_source) or an experiment (experiment:<experiment_id>), got %', breakdown using errcode = '22023';
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
      -- every level. The probe also states since and until as bounds of its own (the two
      -- bounds before it imply them): the planner then leaves the months outside the range
      -- out of the probe once, rather than weighing every month again on each probe.
      query :=
        'select l.customer_id, l.ts, l.ev, f.s2, f.s2 as p2
           from (select e.customer_id, e."timestamp" as ts, e.event as ev from events e
                  where e.event = any($1[2:]) and e."timestamp" >= $2 and e."timestamp" < $3 + $4 and e.customer_id is not null) l
           left join lateral (
             select max(p."timestamp") as s2 from events p
              where l.ev = $1[2] and p.event = $1[1] and p.customer_id = l.customer_id
                and p."timestamp" >= greatest($2, l.ts - $4) and p."timestamp" < least($3, l.ts)
                and p."timestamp" >= $2 and p."timestamp" < $3) f on true
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
        counts_rest := counts_rest || case when k > 1 then format(', count(*) filter (where c.r%s)', k)
                                 else '(select count(*) from pc where value is null)' end;
        medians := medians || format('%s percentile_cont(0.5) within group (order by c.g%s) filter (where c.r%s)',
          case when k > 1 then ',' else '' end, k, k);
      end loop;

      if breakdown is not null then
        breakdown_select := 'b.value';
        if experiment is not null then
          -- By variant: the variant of the experiment each entered customer had seen by the
          -- time they entered, "(several variants)" when more than one, null when none. The
          -- experiment's exposures are read once (index on (event, timestamp)) for every
          -- entered customer, as the campaign columns below.
          breakdown_join := format(
            'left join (
               select x.customer_id,
                      case when count(distinct e.properties ->> ''variant_id'') > 1 then ''(several variants)''
                           else min(e.properties ->> ''variant_id'') end as value
                 from (select g.customer_id, %1$s as entered_at
                         from pc g) x
                 join events e on e.customer_id = x.customer_id and e."timestamp" <= x.entered_at and e."timestamp" < $3
                where e.event = ''Experiment Viewed'' and e.properties ->> ''experiment_id'' = $8
                group by x.customer_id) b on b.customer_id = pc.customer_id',
            replace(entered_at, 'pc.', 'g.'));
        elsif breakdown in ('utm_source', 'utm_medium', 'utm_campaign') then
          -- A campaign column is set on few events, all of them in the partial index
          -- events_customer_campaign: reading that index once for every entered customer costs
          -- less than one probe per customer (a probe of a partitioned table visits every month
          -- before the entry, and events_default, even when nothing is there). pc keeps, for
          -- each entered customer, one row per campaign row at or before entry, or one row with
          -- a null value when there is none: a customer has a value exactly when their rows'
          -- value is not null.
          perform set_config('enable_hashjoin', 'off', true);
          -- Customers with a value: a customer matched by several campaign rows keeps the
          -- latest. They are the only ones grouped by value (below).
          valued := '
         valued as (select distinct on (customer_id) customer_id, value from pc where value is not null order by customer_id, at desc),';
          pc_campaign := format('
         pc as materialized (
               select x.customer_id, e."timestamp" as at, e.%1$I::text as value
                 from (select g.customer_id, %2$s as entered_at
                         from (select customer_id, min(first_at) as first_at from entries group by customer_id) g) x
                 left join events e on e.customer_id = x.customer_id and e."timestamp" <= x.entered_at and e."timestamp" < $3
                                and e.%1$I is not null),',
            breakdown, replace(entered_at, 'pc.', 'g.'));
        else
          -- Any other column may be set on every event: one backward probe per customer of
          -- the index (customer_id, timestamp) reads only what it needs.
          breakdown_join := format(
            'cross join lateral (select %2$s as entered_at) ea
             left join lateral (
               select e.%1$I::text as value from events e
                where e.customer_id = pc.customer_id and e."timestamp" <= ea.entered_at and e.%1$I is not null
                order by e."timestamp" desc limit 1) b on true',
            breakdown, entered_at);
        end if;
      end if;

      -- Without a breakdown, the first step's count is a plain count of the entered customers
      -- (aggregated in parallel) and the later steps' come from went_on alone: anyone who
      -- reached step 2 entered. A breakdown needs each entered customer's entry time.
      query := format(
        'with entries as not materialized (%1$s),%9$s
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
             when valued <> '' then 'valued b left join went_on c on c.customer_id = b.customer_id'
             else 'pc left join went_on c on c.customer_id = pc.customer_id ' || breakdown_join end,
        case when breakdown is null then ''
             when valued <> '' then format('group by 1
            union all
           select null::text, array[%1$s]::bigint[], array[%2$s]::float8[]
             from went_on c
            where not exists (select from valued b where b.customer_id = c.customer_id)
           having exists (select from pc where value is null)', counts_rest, medians)
             else 'group by 1' end,
        -- A breakdown by variant or by another column reads each entered customer's entry twice
        -- (to count them, and to look up their value): the day rows are grouped by customer
        -- once and kept. The planner sees
        -- the kept rows' estimated count, so it still joins them to the campaign rows by hash.
        -- By a campaign column, only the customers with a value (few) are grouped by value and
        -- joined to went_on; the others make the null row: its first step counts them, and
        -- its later steps count the customers of went_on without a value (anyone in went_on
        -- who completed step 2 entered). Grouping all entered customers by value sorted half
        -- a million rows for a handful of values.
        case when pc_campaign <> '' then pc_campaign || valued
             when breakdown is not null then '
         pc as materialized (select customer_id, min(first_at) as first_at from entries group by customer_id),' else '' end);

      return query execute query using steps, since, until, within, n, first_day, last_day, experiment;
    end
    $fn$;
  `;
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(funnelFunctionSql()).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await createFunnelOneProcess(db);
}
