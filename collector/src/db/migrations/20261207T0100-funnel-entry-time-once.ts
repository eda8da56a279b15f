import { sql, type Kysely } from 'kysely';
import { replaceFragments } from '../sql-fragments.js';
import { funnelFunctionSql as campaignTouchesFunnelFunctionSql } from './20261206T0100-campaign-touches.js';

/**
 * `funnel(...)` broken down by a campaign column or by an experiment's variant works out each
 * entered customer's entry time once, with their first day row, instead of inside the join
 * that picks their touches or exposures. The answers do not change.
 *
 * Written in the join's condition, the entry time (a look-up in `events` for a day row that
 * began before `since`) was costed at every pair the merge compares, nearly a million, and the
 * planner priced the merge of the touches and one index probe of the touches per entered
 * customer within about 5 % of each other, either way round by the `ANALYZE` sample: after one
 * on the benchmark database it switched to the probes, and the breakdown by `utm_source` went
 * from 1.7-1.8 s to 2.0-2.1 s. Worked out with the day row, the look-up is costed the same for
 * both plans, and the probes are priced 190,000 units above the merge, where they had been
 * from 28,000 below it to 58,000 above (docs/sql.md, Figures). By variant the exposures were
 * merged either way (their ordered sub-query cannot be probed); the entry time is taken from
 * the same place.
 *
 * The rest of the function is that of 20261206T0100-campaign-touches, which `down` puts back.
 */
export function funnelFunctionSql(): string {
  const firstEntries = 'from (select distinct on (customer_id) customer_id, first_at from entries order by customer_id, ord) g';
  // Each entered customer's first day row and entry time: the look-up for a row that began
  // before since is part of reading the row, not of any join after it.
  const withEntryTime = (argument: string) =>
    `from (select distinct on (customer_id) customer_id, first_at, ${argument} as entered_at from entries order by customer_id, ord) g`;
  return replaceFragments(
    campaignTouchesFunnelFunctionSql(),
    [
      [
        `${firstEntries}
                 -- Ordered here, the experiment''s rows`,
        `${withEntryTime('%1$s')}
                 -- Ordered here, the experiment''s rows`,
      ],
      [
        `on v.customer_id = g.customer_id and v.first_at <= %1$s
                group by g.customer_id),',
            replace(entered_at, 'pc.', 'g.'));`,
        `on v.customer_id = g.customer_id and v.first_at <= g.entered_at
                group by g.customer_id),',
            replace(entered_at, 'pc.', 'entries.'));`,
      ],
      [
        `${firstEntries}
                 left join customer_campaign_touches e on e.customer_id = g.customer_id and e."timestamp" <= %2$s and e."timestamp" < $3`,
        `${withEntryTime('%2$s')}
                 left join customer_campaign_touches e on e.customer_id = g.customer_id and e."timestamp" <= g.entered_at and e."timestamp" < $3`,
      ],
      [`breakdown, replace(entered_at, 'pc.', 'g.'));`, `breakdown, replace(entered_at, 'pc.', 'entries.'));`],
    ],
    '20261207T0100',
  );
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(funnelFunctionSql()).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(campaignTouchesFunnelFunctionSql()).execute(db);
}
