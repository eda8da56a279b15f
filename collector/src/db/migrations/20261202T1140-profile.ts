import { sql, type Kysely } from 'kysely';
import { grantToRoles } from '../role-grants.js';

/**
 * The 360° profile (docs/sql.md, "customer_profiles"): revenue per currency net of refunds
 * and cancellations (no longer one sum across currencies), a converted total where exchange
 * rates allow, every trait, the devices used, the first and last campaign source, the RFM
 * group, the saved segments the customer is in and their latest survey scores.
 *
 * `revenue` and `average_order_value` change type (numeric to a jsonb object per currency),
 * so the view is made again rather than replaced.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop view customer_profiles`.execute(db);
  await createCustomerProfiles(db, 'per currency');
  await grantToRoles(db, { tally_marketer: ['select on customer_profiles'] });
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view customer_profiles`.execute(db);
  await createCustomerProfiles(db, 'summed');
  await grantToRoles(db, { tally_marketer: ['select on customer_profiles'] });
}

/**
 * `customer_profiles`: `per currency` is this migration's; `summed` is the profile as
 * 20261201T1200-workspace-identities left it (one revenue sum across currencies, no
 * refunds), for `down`.
 */
async function createCustomerProfiles(db: Kysely<any>, revenue: 'per currency' | 'summed'): Promise<void> {
  const perCurrency = revenue === 'per currency';
  const revenueRows = perCurrency
    ? sql`select r.customer_id, sum(r.orders) as orders,
             jsonb_object_agg(coalesce(r.currency, '(none)'), r.net_revenue order by r.currency) as revenue,
             jsonb_object_agg(coalesce(r.currency, '(none)'), r.average_order_value order by r.currency)
               filter (where r.average_order_value is not null) as average_order_value
        from customer_revenue r
       group by r.customer_id`
    : sql`select customer_id, count(*) as orders, sum(revenue) as revenue, round(sum(revenue) / count(*), 2) as average_order_value
        from orders where customer_id is not null group by customer_id`;
  const revenueColumns = perCurrency
    ? sql`coalesce(o.revenue, '{}') as revenue,
      coalesce(o.average_order_value, '{}') as average_order_value,
      v.converted_revenue,`
    : sql`coalesce(o.revenue, 0) as revenue,
      o.average_order_value,`;
  const newColumns = perCurrency
    ? sql`,
      coalesce(d.device_list, '[]') as device_list,
      c.first_source,
      c.last_source,
      coalesce(f.rfm_groups, '{}') as rfm_groups,
      coalesce(g.segments, '{}') as segments,
      l.nps_score,
      l.csat_score,
      l.ces_score`
    : sql``;
  const newCtes = perCurrency
    ? sql`,
    per_customer_converted as (
      select customer_id, case when bool_and(converted_net_revenue is not null) then sum(converted_net_revenue) end as converted_revenue
        from order_revenue
       where customer_id is not null and not cancelled
       group by customer_id
    ),
    per_customer_rfm as (
      select customer_id, array_agg(distinct rfm_group order by rfm_group) as rfm_groups from customer_rfm group by customer_id
    ),
    per_customer_segments as (
      select customer_id, array_agg(segment order by segment) as segments from segment_memberships group by customer_id
    )`
    : sql``;
  const newJoins = perCurrency
    ? sql`left join per_customer_converted v using (customer_id)
    left join per_customer_devices d using (customer_id)
    left join per_customer_rfm f using (customer_id)
    left join per_customer_segments g using (customer_id)
    left join customer_latest_scores l using (customer_id)`
    : sql``;
  await sql`
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
          filter (where jsonb_typeof(context -> 'consent' -> 'categoryPreferences') = 'object'))[1] as consent,
        (array_agg(jsonb_build_object('source', utm_source, 'medium', utm_medium, 'campaign', utm_campaign, 'at', "timestamp")
          order by "timestamp", id) filter (where utm_source is not null))[1] as first_source,
        (array_agg(jsonb_build_object('source', utm_source, 'medium', utm_medium, 'campaign', utm_campaign, 'at', "timestamp")
          order by "timestamp" desc, id desc) filter (where utm_source is not null))[1] as last_source
      from events
      where customer_id is not null
      group by customer_id
    ),
    per_customer_devices as (
      select customer_id,
             jsonb_agg(jsonb_build_object('device_type', device_type, 'os', os, 'browser', browser, 'last_seen', last_seen)
               order by last_seen desc) as device_list
        from (select customer_id, device_type, os, browser, max("timestamp") as last_seen
                from events
               where customer_id is not null and (device_type is not null or os is not null or browser is not null)
               group by 1, 2, 3, 4) d
       group by customer_id
    ),
    per_customer_sessions as (
      select customer_id, count(distinct session_id) as sessions from events_with_session group by customer_id
    ),
    per_customer_revenue as (
      ${revenueRows}
    )${newCtes}
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
      ${revenueColumns}
      c.consent,
      c.devices,
      coalesce(cu.traits, '{}') as traits,
      coalesce(cu.trait_sources, '{}') as trait_sources${newColumns}
    from per_customer c
    left join per_customer_sessions s using (customer_id)
    left join per_customer_revenue o using (customer_id)
    ${newJoins}
    left join customers cu on cu.id = c.customer_id`.execute(db);
}
