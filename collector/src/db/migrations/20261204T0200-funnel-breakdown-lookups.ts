import { sql, type Kysely } from 'kysely';
import { funnelFunctionSql as baseFunnelFunctionSql, up as createFunnelBreakdownValuedOnly } from './20261203T1000-funnel-breakdown-valued-only.js';

/**
 * `funnel(...)` broken down by an experiment's variant or by a column other than a campaign
 * one answers as before, looking each entered customer's value up where it costs less
 * (docs/sql.md, "How it stays fast", has the figures on 10 million events):
 *
 * - By variant (`breakdown => 'experiment:<id>'`), from `experiment_exposure_days` (kept exact
 *   by triggers since 20261203T0300) instead of every `Experiment Viewed` event: a customer had
 *   seen a variant by the time they entered exactly when one of that variant's day rows began
 *   at or before their entry (a day row's `first_at` is that day's first exposure). The rows
 *   come from that table's primary key for the one experiment, where the events had to be
 *   fetched from the heap, scattered among all the others.
 * - By another column (`device_type`, `browser`, `os`, `source_id`: set on nearly every
 *   event), first from the events at the entry's very time, usually the entry event itself:
 *   one month's index, where the backward look-up over everything at or before the entry
 *   visits every month before it. Only when none of them has a value is the latest earlier
 *   event with one looked up. The latest event at or before the entry with a value is found
 *   either way; among several at the same instant, either look-up takes any one.
 *
 * The rest of the function is that of 20261203T1000-funnel-breakdown-valued-only, which
 * `down` puts back.
 */
const VARIANTS_FROM_EVENTS = `          -- By variant: the variant of the experiment each entered customer had seen by the
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
`;

const VARIANTS_FROM_EXPOSURE_DAYS = `          -- By variant: the variant of the experiment each entered customer had seen by the
          -- time they entered, "(several variants)" when more than one, null when none. A
          -- customer had seen a variant by then exactly when one of its day rows in
          -- experiment_exposure_days begins at or before the entry; the experiment's rows are
          -- read once from that table's primary key for every entered customer.
          breakdown_join := format(
            'left join (
               select x.customer_id,
                      case when count(distinct v.variant_id) > 1 then ''(several variants)'' else min(v.variant_id) end as value
                 from (select g.customer_id, %1$s as entered_at
                         from pc g) x
                 join experiment_exposure_days v on v.experiment_id = $8 and v.customer_id = x.customer_id and v.first_at <= x.entered_at
                group by x.customer_id) b on b.customer_id = pc.customer_id',
`;

const OTHER_COLUMN_LOOKED_BACK = `          -- Any other column may be set on every event: one backward probe per customer of
          -- the index (customer_id, timestamp) reads only what it needs.
          breakdown_join := format(
            'cross join lateral (select %2$s as entered_at) ea
             left join lateral (
               select e.%1$I::text as value from events e
                where e.customer_id = pc.customer_id and e."timestamp" <= ea.entered_at and e.%1$I is not null
                order by e."timestamp" desc limit 1) b on true',
`;

const OTHER_COLUMN_AT_ENTRY_FIRST = `          -- Any other column (device_type, browser, os, source_id) is set on nearly every
          -- event, usually on the entry event itself: the events at the entry's very time are
          -- one probe of one month's index (customer_id, timestamp). Only when none of them has
          -- a value is the latest earlier one looked up, a probe that visits every month before.
          breakdown_join := format(
            'cross join lateral (select %2$s as entered_at) ea
             left join lateral (
               select coalesce(
                        (select e.%1$I::text from events e
                          where e.customer_id = pc.customer_id and e."timestamp" = ea.entered_at and e.%1$I is not null
                          limit 1),
                        (select e.%1$I::text from events e
                          where e.customer_id = pc.customer_id and e."timestamp" < ea.entered_at and e.%1$I is not null
                          order by e."timestamp" desc limit 1)) as value) b on true',
`;

/** The statement that creates this migration's `funnel(...)`: 20261203T1000's, with the two look-ups replaced. */
export function funnelFunctionSql(): string {
  let statement = baseFunnelFunctionSql();
  for (const [before, after] of [
    [VARIANTS_FROM_EVENTS, VARIANTS_FROM_EXPOSURE_DAYS],
    [OTHER_COLUMN_LOOKED_BACK, OTHER_COLUMN_AT_ENTRY_FIRST],
  ] as const) {
    if (!statement.includes(before)) throw new Error('20261204T0200: the funnel of 20261203T1000 no longer holds a look-up this migration replaces');
    statement = statement.replace(before, after);
  }
  return statement;
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(funnelFunctionSql()).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await createFunnelBreakdownValuedOnly(db);
}
