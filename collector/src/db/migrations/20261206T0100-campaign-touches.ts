import { sql, type Kysely } from 'kysely';
import { replaceFragments } from '../sql-fragments.js';
import { grantToRoles } from '../role-grants.js';
import { funnelFunctionSql as firstEventFunnelFunctionSql } from './20261205T0100-event-days-first-event.js';

/**
 * `customer_campaign_touches`: every event of a known customer that carries a campaign
 * (`utm_source`, `utm_medium` or `utm_campaign`), by customer, time and event id, with those
 * three values. Triggers on `events` keep it equal to the events through every write: the
 * collector's inserts, identity stitching re-pointing events, edits, forgetting a customer and
 * retention's deletes; a dropped month of events takes its touches with it
 * (`dropEventPartitionWithDays`).
 *
 * `funnel(...)` broken down by a campaign column reads each entered customer's latest campaign
 * at or before entry from this table's primary key, in customer order, where it read the
 * partial index `events_customer_campaign` of every month of `events`: one index instead of a
 * merge of one per month, which the join could read only through a copy of every row (the
 * merge cannot step back). On the 10-million-event benchmark a breakdown by `utm_source` went
 * from 2.2-2.5 s to 1.8-2.0 s with the changes below (docs/sql.md).
 *
 * Each second-step event's probe for the latest first step before it is written as the
 * latest row (`order by ... desc limit 1`) rather than `max(...)`, which was planned as a
 * sub-plan of its own around the same scan at every probe: about 4 % of the plain funnel.
 *
 * Each customer's latest campaign is the greatest of one text (the touch's time, fixed-width,
 * then its value) in byte order, where it was the greatest pair of the two: of two touches at
 * one instant, still the greater value, now in byte order (the same under a C collation).
 * Broken down, the first step's median, always null, is no longer worked out from an array of
 * nulls.
 *
 * The breakdowns by variant and by campaign take each entered customer's first day row in
 * customer order (`distinct on`), as the kept columns' breakdown does, rather than grouping the
 * day rows: a grouping could be hashed, and on a freshly loaded benchmark the planner hashed
 * every day row read by a full scan and sorted half a million customers again (by variant:
 * 3.0-3.4 s, now 2.0-2.1 s). The answers do not change.
 *
 * `down` drops the table and its triggers and puts back the funnel of 20261205T0100.
 */

/** The campaign columns a touch keeps: the funnel's campaign breakdowns. */
export const CAMPAIGN_COLUMNS = ['utm_source', 'utm_medium', 'utm_campaign'] as const;

const columns = CAMPAIGN_COLUMNS.join(', ');
const carriesCampaign = (e: string) => `(${CAMPAIGN_COLUMNS.map((c) => `${e}.${c} is not null`).join(' or ')})`;
const touchOf = (e: string) => `${e}.customer_id, ${e}."timestamp", ${e}.id, ${CAMPAIGN_COLUMNS.map((c) => `${e}.${c}`).join(', ')}`;
/** What a touch holds of an event, as a row to compare: the old version o against the new n. */
const touchChanged = (o: string, n: string) => {
  const held = (e: string) => `(${e}.customer_id, ${e}."timestamp", ${CAMPAIGN_COLUMNS.map((c) => `${e}.${c}`).join(', ')})`;
  return `${held(o)}
               is distinct from ${held(n)}`;
};

const TRIGGER_FUNCTIONS = `
    -- New events that carry a campaign are new touches.
    create function tally_campaign_touches_added() returns trigger
    language plpgsql as $fn$
    begin
      insert into customer_campaign_touches (customer_id, "timestamp", event_id, ${columns})
      select ${touchOf('a')}
        from added a
       where a.customer_id is not null and ${carriesCampaign('a')};
      return null;
    end
    $fn$;

    -- After an update (only events whose customer, time or campaign changed) or a delete: the
    -- touches the events were go, and what the updated events carry now is added. Event ids
    -- are unique, so no two writers ever touch one row here.
    create function tally_campaign_touches_changed() returns trigger
    language plpgsql as $fn$
    begin
      if tg_op = 'UPDATE' then
        delete from customer_campaign_touches t
         using before_change o join after_change n on n.id = o.id
         where t.customer_id = o.customer_id and t."timestamp" = o."timestamp" and t.event_id = o.id
           and ${touchChanged('o', 'n')};
        insert into customer_campaign_touches (customer_id, "timestamp", event_id, ${columns})
        select ${touchOf('n')}
          from before_change o join after_change n on n.id = o.id
         where n.customer_id is not null and ${carriesCampaign('n')}
           and ${touchChanged('o', 'n')};
      else
        delete from customer_campaign_touches t
         using before_change o
         where t.customer_id = o.customer_id and t."timestamp" = o."timestamp" and t.event_id = o.id;
      end if;
      return null;
    end
    $fn$;
`;

/**
 * The statement that creates this migration's `funnel(...)`: 20261205T0100's, with the campaign
 * rows read from `customer_campaign_touches` and the entered customers of the variant and
 * campaign breakdowns taken in customer order.
 */
export function funnelFunctionSql(): string {
  const groupedEntries = 'from (select customer_id, min(first_at) as first_at from entries group by customer_id) g';
  // Each entered customer's first day row (its first_at is the customer's earliest): read in
  // the index's order, never hashed.
  const firstEntries = 'from (select distinct on (customer_id) customer_id, first_at from entries order by customer_id, ord) g';
  return replaceFragments(
    firstEventFunnelFunctionSql(),
    [
      [
        `${groupedEntries}
                 -- Ordered here, the experiment''s rows`,
        `${firstEntries}
                 -- Ordered here, the experiment''s rows`,
      ],
      [
        `          -- A campaign column is set on few events, all of them in the partial index
          -- events_customer_campaign: reading that index once for every entered customer costs
          -- less than one probe per customer (a probe of a partitioned table visits every month
          -- before the entry, and events_default, even when nothing is there). pc keeps, for
          -- each entered customer (grouped from the day rows in customer order, and merged with
          -- the campaign rows of that index, also in customer order), the value of their latest`,
        `          -- The events that carry a campaign are each a row of customer_campaign_touches (kept
          -- by triggers): reading its primary key once for every entered customer costs less
          -- than one probe per customer. pc keeps, for each
          -- entered customer (their first day row, in customer order, merged with the touches,
          -- also in customer order), the value of their latest`,
      ],
      [
        `             select max(p."timestamp") as s2 from events p
              where l.ev = $1[2] and p.event = $1[1] and p.customer_id = l.customer_id
                and p."timestamp" >= greatest($2, l.ts - $4) and p."timestamp" < least($3, l.ts)
                and p."timestamp" >= $2 and p."timestamp" < $3) f on true`,
        `             select p."timestamp" as s2 from events p
              where l.ev = $1[2] and p.event = $1[1] and p.customer_id = l.customer_id
                and p."timestamp" >= greatest($2, l.ts - $4) and p."timestamp" < least($3, l.ts)
                and p."timestamp" >= $2 and p."timestamp" < $3
              -- The latest one, read as such: max() would be planned as a sub-plan of its own
              -- around the same scan, at every probe.
              order by p."timestamp" desc limit 1) f on true`,
      ],
      [
        `        if experiment is not null or first_column is not null or breakdown in ('utm_source', 'utm_medium', 'utm_campaign') then
          medians := medians || format('%s (select percentile_cont`,
        `        if k = 1 and breakdown is not null then
          -- The first step has no time from a previous one (went_on's g1 is null). Without a
          -- breakdown its aggregate stays: it makes per_group one row when no one went on.
          medians := medians || 'null::float8';
        elsif experiment is not null or first_column is not null or breakdown in ('utm_source', 'utm_medium', 'utm_campaign') then
          medians := medians || format('%s (select percentile_cont`,
      ],
      [
        `          -- campaign row at or before entry: the greatest pair of its time (written so that text
          -- order is time order) and its value; null when there is none.`,
        `          -- touch at or before entry: the greatest of its time and value written as one text
          -- (the time first, fixed-width, so that byte order is time order, then the value);
          -- null when there is none.`,
      ],
      [
        `(max(array[to_char(e."timestamp" at time zone ''UTC'', ''YYYYMMDDHH24MISSUS''), e.%1$I::text]))[2] as value`,
        `substr(max((to_char(e."timestamp" at time zone ''UTC'', ''YYYYMMDDHH24MISSUS'') || e.%1$I::text) collate "C"), 21) as value`,
      ],
      [
        `                 ${groupedEntries}
                 left join events e on e.customer_id = g.customer_id and e."timestamp" <= %2$s and e."timestamp" < $3
                                and e.%1$I is not null`,
        `                 ${firstEntries}
                 left join customer_campaign_touches e on e.customer_id = g.customer_id and e."timestamp" <= %2$s and e."timestamp" < $3
                                and e.%1$I is not null`,
      ],
    ],
    '20261206T0100',
  );
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(`
    create table customer_campaign_touches (
      customer_id uuid not null,
      "timestamp" timestamptz not null,
      event_id bigint not null,
      ${CAMPAIGN_COLUMNS.map((c) => `${c} text`).join(',\n      ')},
      -- The funnel reads a customer's touches in time order from this index alone.
      constraint customer_campaign_touches_pkey primary key (customer_id, "timestamp", event_id) include (${columns})
    );

    -- Stored in time order, as new touches arrive: a month's rows are a few block ranges, which
    -- this small index finds when retention drops the month (it costs writers next to nothing).
    insert into customer_campaign_touches (customer_id, "timestamp", event_id, ${columns})
    select ${touchOf('e')}
      from events e
     where e.customer_id is not null and ${carriesCampaign('e')}
     order by 2;
    create index customer_campaign_touches_timestamp on customer_campaign_touches using brin ("timestamp");

    ${TRIGGER_FUNCTIONS}

    create trigger events_campaign_touches_added after insert on events
      referencing new table as added for each statement execute function tally_campaign_touches_added();
    create trigger events_campaign_touches_changed after update on events
      referencing old table as before_change new table as after_change for each statement execute function tally_campaign_touches_changed();
    create trigger events_campaign_touches_removed after delete on events
      referencing old table as before_change for each statement execute function tally_campaign_touches_changed();
  `).execute(db);
  await sql.raw(funnelFunctionSql()).execute(db);
  await grantToRoles(db, { tally_analyst: ['select on customer_campaign_touches'], tally_marketer: ['select on customer_campaign_touches'] });
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(firstEventFunnelFunctionSql()).execute(db);
  await sql`
    drop trigger events_campaign_touches_removed on events;
    drop trigger events_campaign_touches_changed on events;
    drop trigger events_campaign_touches_added on events;
    drop function tally_campaign_touches_changed();
    drop function tally_campaign_touches_added();
    drop table customer_campaign_touches;
  `.execute(db);
}
