import { sql, type Kysely } from 'kysely';
import { replaceFragments } from '../sql-fragments.js';
import { funnelFunctionSql as baseFunnelFunctionSql, up as createFunnelBreakdownValuedOnly } from './20261203T1000-funnel-breakdown-valued-only.js';

/**
 * `funnel(...)` broken down by an experiment's variant (`breakdown => 'experiment:<id>'`)
 * answers as before from `experiment_exposure_days` (kept exact by triggers since migration
 * 20261203T0300) instead of from every `Experiment Viewed` event: a customer had seen a
 * variant by the time they entered exactly when one of that variant's day rows began at or
 * before their entry (a day row's `first_at` is that day's first exposure). The rows come
 * from that table's primary key for the one experiment, where the events had to be fetched
 * from the heap, scattered among all the others. On the 10-million-event benchmark, by the
 * variant of a test every customer saw: 7.5-11.6 s before, 3.6-4.4 s after (docs/sql.md).
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

export const VARIANTS_FROM_EXPOSURE_DAYS = `          -- By variant: the variant of the experiment each entered customer had seen by the
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

/** The statement that creates this migration's `funnel(...)`: 20261203T1000's, with the variants' look-up replaced. */
export function funnelFunctionSql(): string {
  return replaceFragments(baseFunnelFunctionSql(), [[VARIANTS_FROM_EVENTS, VARIANTS_FROM_EXPOSURE_DAYS]], '20261204T0200');
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(funnelFunctionSql()).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await createFunnelBreakdownValuedOnly(db);
}
