import { sql, type Kysely } from 'kysely';
import { replaceFragments } from '../sql-fragments.js';
import { createEventDaysFunctions } from './20261123T1200-customer-event-days.js';
import {
  VARIANTS_FROM_EXPOSURE_DAYS,
  funnelFunctionSql as variantsFunnelFunctionSql,
  up as createFunnelVariantsFromExposureDays,
} from './20261204T0200-funnel-variants-from-exposure-days.js';

/**
 * Each day row of `customer_event_days` keeps what its first event carried: its source,
 * device type, browser and operating system (`first_source_id`, `first_device_type`,
 * `first_browser`, `first_os`), and that event's id (`first_event_id`), which decides between
 * events at the same instant: the day's first event is the one with the earliest time, then
 * the lowest id. The triggers take the values from the rows being written (no look-up on the
 * write path) and work them out again wherever they work out the times again (moved, edited
 * and deleted events, merges).
 *
 * `funnel(...)` broken down by one of those columns reads each entered customer's value with
 * the entries themselves: a customer's entry is the first event of their first day row in the
 * range, so that row's value is the value of the event they entered on. Only where that event
 * carries none (or the entry is inside a day row that began before `since`) is the latest
 * earlier event that carries one looked up, as every entry was before. On the 10-million-event
 * benchmark a breakdown by `device_type` went from about 8 s to under 2 s (docs/sql.md).
 *
 * The breakdowns by variant and by a campaign column stream the same way: the entered
 * customers, in customer order, merged with the experiment's exposure rows or the campaign
 * rows, then with `went_on`, and counted in a hash of the values, where before they were kept
 * and sorted or hashed by customer. The answers are the same (of two campaigns at one instant,
 * the greater value is taken, where the choice was arbitrary).
 *
 * `down` drops the columns and puts back the triggers' functions of 20261123T1200 and the
 * funnel of 20261204T0200.
 */

/** The columns of `events` whose first value of the day each day row keeps, as `first_<column>`. */
export const FIRST_EVENT_COLUMNS = ['source_id', 'device_type', 'browser', 'os'] as const;

const kept = ['first_event_id', ...FIRST_EVENT_COLUMNS.map((c) => `first_${c}`)];
const fromEvent = (e: string) => [`${e}.id`, ...FIRST_EVENT_COLUMNS.map((c) => `${e}.${c}`)].join(', ');
const keptList = kept.join(', ');

/**
 * The on-conflict rule shared by the insert trigger and the refresh: times widen, and the
 * first event's values are those of the earlier of the two first events (time, then id).
 */
const MERGE_DAY_ROW = `
      on conflict (event, customer_id, day) do update
        set first_at = least(d.first_at, excluded.first_at), last_at = greatest(d.last_at, excluded.last_at),
            ${kept.map((c) => `${c} = case when (excluded.first_at, excluded.first_event_id) < (d.first_at, d.first_event_id) then excluded.${c} else d.${c} end`).join(',\n            ')}
        where excluded.first_at < d.first_at or excluded.last_at > d.last_at
           or (excluded.first_at, excluded.first_event_id) < (d.first_at, d.first_event_id)`;

/** A day's rows of events, each day's first (by time, then id) first: for `distinct on`. */
const FIRST_OF_DAY = `distinct on (x.event, x.customer_id, x.day)
             x.event, x.customer_id, x.day, x."timestamp" as first_at,
             max(x."timestamp") over (partition by x.event, x.customer_id, x.day) as last_at,
             x.id as first_event_id, ${FIRST_EVENT_COLUMNS.map((c) => `x.${c} as first_${c}`).join(', ')}`;
const FIRST_OF_DAY_ORDER = 'order by x.event, x.customer_id, x.day, x."timestamp", x.id';

const TRIGGER_FUNCTIONS = `
    -- New events widen their day's row; an event earlier than the row's first gives it its
    -- values. Keys are taken in order, so that two writers touching the same rows wait for
    -- each other rather than deadlock.
    create or replace function tally_event_days_added() returns trigger
    language plpgsql as $fn$
    begin
      insert into customer_event_days as d (event, customer_id, day, first_at, last_at, ${keptList})
      select ${FIRST_OF_DAY}
        from (select a.event, a.customer_id, (a."timestamp" at time zone 'UTC')::date as day, a."timestamp", ${fromEvent('a')}
                from added a
               where a.event is not null and a.customer_id is not null) x
       ${FIRST_OF_DAY_ORDER}
      ${MERGE_DAY_ROW};
      return null;
    end
    $fn$;

    -- Rows whose events moved, changed or went away are worked out again from the events
    -- that remain.
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
        select ${FIRST_OF_DAY}
          from (select k.event, k.customer_id, k.day, e."timestamp", ${fromEvent('e')}
                  from keys k
                  join events e
                    on e.event = k.event and e.customer_id = k.customer_id
                   and e."timestamp" >= k.day::timestamp at time zone 'UTC'
                   and e."timestamp" < (k.day + 1)::timestamp at time zone 'UTC') x
         ${FIRST_OF_DAY_ORDER}
      ),
      updated as (
        update customer_event_days d
           set first_at = f.first_at, last_at = f.last_at, ${kept.map((c) => `${c} = f.${c}`).join(', ')}
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
      insert into customer_event_days as d (event, customer_id, day, first_at, last_at, ${keptList})
      select f.event, f.customer_id, f.day, f.first_at, f.last_at, ${kept.map((c) => `f.${c}`).join(', ')}
        from fresh f
       where not exists (select 1 from updated u where u.event = f.event and u.customer_id = f.customer_id and u.day = f.day)
       order by 1, 2, 3
      ${MERGE_DAY_ROW};
    end
    $fn$;

    -- After an update (only rows whose event, customer, time or a kept column changed) or a
    -- delete: the days the rows left and the days they moved to are worked out again.
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
                 where (o.event, o.customer_id, o."timestamp", ${FIRST_EVENT_COLUMNS.map((c) => `o.${c}`).join(', ')})
                       is distinct from (n.event, n.customer_id, n."timestamp", ${FIRST_EVENT_COLUMNS.map((c) => `n.${c}`).join(', ')})) k
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
`;

/** The breakdown columns read from the day rows, as a SQL list of string literals. */
const firstEventBreakdowns = FIRST_EVENT_COLUMNS.map((c) => `'${c}'`).join(', ');

/**
 * The statement that creates this migration's `funnel(...)`: 20261204T0200's, with a breakdown
 * by a column the day rows keep read with the entries, and the breakdowns by variant and by
 * campaign streamed in customer order.
 */
export function funnelFunctionSql(): string {
  return replaceFragments(
    variantsFunnelFunctionSql(),
    [
      [
        `      breakdown_select text := 'null::text';\n`,
        `      breakdown_select text := 'null::text';
      -- By variant: each entered customer with their variant, merged in customer order.
      variant_pc text := '';
      -- A column the day rows keep from their first event: read with the entries, each
      -- entered customer's value is that of the event they entered on.
      first_column text := case when breakdown in (${firstEventBreakdowns}) then breakdown end;
`,
      ],
      [
        `        medians := medians || format('%s percentile_cont(0.5) within group (order by c.g%s) filter (where c.r%s)',
          case when k > 1 then ',' else '' end, k, k);`,
        `        -- By variant, a campaign or a kept column, every entered customer is grouped by value: in a hash
        -- of the few values rather than a sort of half a million rows. An ordered-set
        -- aggregate cannot be hashed, so each median is taken from the array of its times.
        if experiment is not null or first_column is not null or breakdown in ('utm_source', 'utm_medium', 'utm_campaign') then
          medians := medians || format('%s (select percentile_cont(0.5) within group (order by t) from unnest(array_agg(c.g%s) filter (where c.r%s)) t)',
            case when k > 1 then ',' else '' end, k, k);
        else
          medians := medians || format('%s percentile_cont(0.5) within group (order by c.g%s) filter (where c.r%s)',
            case when k > 1 then ',' else '' end, k, k);
        end if;`,
      ],
      [
        `${VARIANTS_FROM_EXPOSURE_DAYS}            replace(entered_at, 'pc.', 'g.'));\n`,
        `          -- By variant: the variant of the experiment each entered customer had seen by the
          -- time they entered, "(several variants)" when more than one, null when none. A
          -- customer had seen a variant by then exactly when one of its day rows in
          -- experiment_exposure_days begins at or before the entry. The entered customers
          -- (grouped from the day rows in customer order) are merged with the experiment's rows
          -- (its primary key, in customer order) and then with went_on, each a merge of sorted
          -- streams, and counted in a hash of the values: half a million customers are neither
          -- hashed nor sorted.
          perform set_config('enable_hashjoin', 'off', true);
          perform set_config('enable_hashagg', 'on', true);
          breakdown_join := '';
          breakdown_select := 'pc.value';
          variant_pc := format('
         pc as not materialized (
               select g.customer_id, min(g.first_at) as first_at,
                      case when min(v.variant_id) <> max(v.variant_id) then ''(several variants)'' else min(v.variant_id) end as value
                 from (select customer_id, min(first_at) as first_at from entries group by customer_id) g
                 -- Ordered here, the experiment''s rows come in customer order from its
                 -- primary key; named in the join''s condition, the planner sorted them.
                 left join (select customer_id, first_at, variant_id from experiment_exposure_days
                             where experiment_id = $8 order by customer_id) v
                        on v.customer_id = g.customer_id and v.first_at <= %1$s
                group by g.customer_id),',
            replace(entered_at, 'pc.', 'g.'));
`,
      ],
      [
        `      counts_rest text := '';
      valued text := '';
`,
        '',
      ],
      [
        `        counts_rest := counts_rest || case when k > 1 then format(', count(*) filter (where c.r%s)', k)
                                 else '(select count(*) from pc where value is null)' end;
`,
        '',
      ],
      [
        `          -- each entered customer, one row per campaign row at or before entry, or one row with
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
`,
        `          -- each entered customer (grouped from the day rows in customer order, and merged with
          -- the campaign rows of that index, also in customer order), the value of their latest
          -- campaign row at or before entry: the greatest pair of its time (written so that text
          -- order is time order) and its value; null when there is none. It is merged with
          -- went_on and counted in a hash of the values, as by variant.
          perform set_config('enable_hashjoin', 'off', true);
          perform set_config('enable_hashagg', 'on', true);
          breakdown_select := 'pc.value';
          pc_campaign := format('
         pc as not materialized (
               select g.customer_id, min(g.first_at) as first_at,
                      (max(array[to_char(e."timestamp" at time zone ''UTC'', ''YYYYMMDDHH24MISSUS''), e.%1$I::text]))[2] as value
                 from (select customer_id, min(first_at) as first_at from entries group by customer_id) g
                 left join events e on e.customer_id = g.customer_id and e."timestamp" <= %2$s and e."timestamp" < $3
                                and e.%1$I is not null
                group by g.customer_id),',
            breakdown, replace(entered_at, 'pc.', 'g.'));
`,
      ],
      [
        `             when valued <> '' then 'valued b left join went_on c on c.customer_id = b.customer_id'
`,
        '',
      ],
      [
        `        case when breakdown is null then ''
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
`,
        `        case when breakdown is null then '' else 'group by 1' end,
        -- By a campaign, a variant or a kept column, pc streams the entered customers past in
        -- customer order, each with its value, to be merged with went_on (also in customer
        -- order) and counted in a hash of the values. By another column, each entered
        -- customer's entry is read twice (to count them, and to look up their value): the day
        -- rows are grouped by customer once and kept.
`,
      ],
      [
        `        entries := 'select customer_id, "timestamp" as first_at from events
                     where event = $1[1] and "timestamp" >= $2 and "timestamp" < $3 and customer_id is not null';`,
        `        -- ord puts a customer's entry first; value is the breakdown column's, when the
        -- entries carry it.
        entries := format('select customer_id, "timestamp" as first_at, "timestamp" as ord, %s as value from events
                     where event = $1[1] and "timestamp" >= $2 and "timestamp" < $3 and customer_id is not null',
                          coalesce(quote_ident(first_column) || '::text', 'null::text'));`,
      ],
      [
        `        entries := 'select customer_id, first_at from customer_event_days
                     where event = $1[1] and day >= $6 and day <= $7 and last_at >= $2 and first_at < $3';`,
        `        entries := format('select customer_id, first_at, day as ord, %s as value from customer_event_days
                     where event = $1[1] and day >= $6 and day <= $7 and last_at >= $2 and first_at < $3',
                          coalesce(quote_ident('first_' || first_column), 'null::text'));`,
      ],
      [
        `        else
          -- Any other column may be set on every event: one backward probe per customer of
          -- the index (customer_id, timestamp) reads only what it needs.`,
        `        elsif first_column is not null then
          perform set_config('enable_hashagg', 'on', true);
          -- A column the day rows keep: the value of the event the customer entered on, read
          -- with the entries (pc.value). Only where that event has none, or the entry lies
          -- inside a day row that began before since (whose first event is not the entry), is
          -- the latest earlier event that has one looked up, as for any other column.
          breakdown_join := format(
            'cross join lateral (
               select coalesce(pc.value, (
                 select e.%1$I::text from events e
                  where e.customer_id = pc.customer_id and e."timestamp" <= %2$s and e.%1$I is not null
                  order by e."timestamp" desc limit 1)) as value) b',
            breakdown, entered_at);
        else
          -- Any other column may be set on every event: one backward probe per customer of
          -- the index (customer_id, timestamp) reads only what it needs.`,
      ],
      [
        `        case when pc_campaign <> '' then pc_campaign || valued
             when breakdown is not null then '`,
        `        case when pc_campaign <> '' then pc_campaign
             when variant_pc <> '' then variant_pc
             -- Read once, in customer order, and merged with went_on as it streams past.
             when first_column is not null then '
         pc as not materialized (
               select distinct on (customer_id) customer_id, first_at, case when first_at >= $2 then value end as value
                 from entries order by customer_id, ord),'
             when breakdown is not null then '`,
      ],
    ],
    '20261205T0100',
  );
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(`
    alter table customer_event_days
      add column first_event_id bigint,
      ${FIRST_EVENT_COLUMNS.map((c) => `add column first_${c} text`).join(',\n      ')};

    -- Every row is worked out again from the events, as the triggers keep it: this is one
    -- sort of the events instead of an update per row, and leaves no dead rows behind. The
    -- primary key is built again afterwards, including the kept columns, so that a breakdown
    -- reads them with the entries from the index alone (the plain funnel's scan of it measured
    -- about 3 % slower for the wider entries).
    set local work_mem = '512MB';
    alter table customer_event_days drop constraint customer_event_days_pkey;
    truncate customer_event_days;
    insert into customer_event_days (event, customer_id, day, first_at, last_at, ${keptList})
    select ${FIRST_OF_DAY}
      from (select event, customer_id, ("timestamp" at time zone 'UTC')::date as day, "timestamp", id, ${FIRST_EVENT_COLUMNS.join(', ')}
              from events
             where event is not null and customer_id is not null) x
     ${FIRST_OF_DAY_ORDER};
    alter table customer_event_days alter column first_event_id set not null, alter column first_source_id set not null,
      add constraint customer_event_days_pkey primary key (event, customer_id, day)
        include (first_at, last_at, ${FIRST_EVENT_COLUMNS.map((c) => `first_${c}`).join(', ')});
    ${TRIGGER_FUNCTIONS}
  `).execute(db);
  await sql.raw(funnelFunctionSql()).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await createEventDaysFunctions(db);
  await sql.raw(`
    alter table customer_event_days drop constraint customer_event_days_pkey, ${kept.map((c) => `drop column ${c}`).join(', ')},
      add constraint customer_event_days_pkey primary key (event, customer_id, day) include (first_at, last_at)`).execute(db);
  await createFunnelVariantsFromExposureDays(db);
}
