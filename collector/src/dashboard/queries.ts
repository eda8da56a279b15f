/**
 * Every query the dashboard's panels run, one constant each: what a panel shows under "SQL"
 * is this text with its `{{placeholders}}` written as literals (see `renderSql`), and that
 * text is what runs, as the read-only `tally_dashboard` role. `pnpm bench:dashboard` times
 * each of them.
 */

/**
 * Overview: events, visitors (distinct customers seen), customers who ordered and orders, for the
 * range and the one before it. Events and visitors come from the daily roll-ups (whole UTC days,
 * from the day of `since` to the day before `until`'s; see `tally_refresh_daily_rollups`).
 */
export const OVERVIEW_TOTALS = `select ranges.period, counted.events, seen.visitors, bought.customers, bought.orders
  from (values ('current', {{since}}::timestamptz, {{until}}::timestamptz),
               ('previous', {{previous_since}}::timestamptz, {{since}}::timestamptz)) as ranges (period, since, until)
  cross join lateral (
    select coalesce(sum(events), 0)::bigint as events
      from daily_event_counts
     where day >= (ranges.since at time zone 'UTC')::date and day < (ranges.until at time zone 'UTC')::date
  ) as counted
  cross join lateral (
    select count(distinct customer_id) as visitors
      from customer_days
     where day >= (ranges.since at time zone 'UTC')::date and day < (ranges.until at time zone 'UTC')::date
  ) as seen
  cross join lateral (
    select count(distinct customer_id) as customers, count(*) as orders
      from orders
     where completed_at >= ranges.since and completed_at < ranges.until
  ) as bought
 order by ranges.period`;

/** Overview: revenue per currency, for the range and the one before it. */
export const OVERVIEW_REVENUE = `select coalesce(currency, '(none)') as currency,
       coalesce(sum(revenue) filter (where completed_at >= {{since}}::timestamptz), 0) as revenue,
       coalesce(sum(revenue) filter (where completed_at < {{since}}::timestamptz), 0) as previous_revenue
  from orders
 where completed_at >= {{previous_since}}::timestamptz and completed_at < {{until}}::timestamptz
 group by 1
 order by revenue desc, currency`;

/** Overview: the most viewed pages, from the daily roll-ups (whole UTC days, as `OVERVIEW_TOTALS`). */
export const TOP_PAGES = `select viewed.path, viewed.pageviews,
       (select count(distinct customer_id) from customer_page_days v
         where (v.path = viewed.path or (v.path is null and viewed.path is null))
           and v.day >= ({{since}}::timestamptz at time zone 'UTC')::date and v.day < ({{until}}::timestamptz at time zone 'UTC')::date) as visitors
  from (
    select path, sum(events)::bigint as pageviews
      from daily_event_counts
     where type = 'page' and day >= ({{since}}::timestamptz at time zone 'UTC')::date and day < ({{until}}::timestamptz at time zone 'UTC')::date
     group by path
     order by pageviews desc, path
     limit 10
  ) as viewed
 order by viewed.pageviews desc, viewed.path`;

/**
 * Overview: the sites that sent visitors (the referrer's host, pages from the same host left
 * out; `tally_referrer_host`), from the referrer roll-ups (whole UTC days, as `OVERVIEW_TOTALS`).
 */
export const TOP_REFERRERS = `select referred.referrer_host, coalesce(seen.visitors, 0) as visitors, referred.pageviews
  from (
    select referrer_host, sum(pageviews)::bigint as pageviews
      from daily_referrer_counts
     where day >= ({{since}}::timestamptz at time zone 'UTC')::date and day < ({{until}}::timestamptz at time zone 'UTC')::date
     group by referrer_host
  ) as referred
  left join (
    select referrer_host, count(distinct customer_id) as visitors
      from referrer_customer_days
     where day >= ({{since}}::timestamptz at time zone 'UTC')::date and day < ({{until}}::timestamptz at time zone 'UTC')::date
     group by referrer_host
  ) as seen on seen.referrer_host = referred.referrer_host
 order by visitors desc, referred.referrer_host
 limit 10`;

/** Overview: the campaigns' sources that brought visitors, from the UTM source roll-ups (whole UTC days, as `OVERVIEW_TOTALS`). */
export const TOP_UTM_SOURCES = `select sourced.utm_source, coalesce(seen.visitors, 0) as visitors, sourced.events
  from (
    select utm_source, sum(events)::bigint as events
      from daily_utm_source_counts
     where day >= ({{since}}::timestamptz at time zone 'UTC')::date and day < ({{until}}::timestamptz at time zone 'UTC')::date
     group by utm_source
  ) as sourced
  left join (
    select utm_source, count(distinct customer_id) as visitors
      from utm_source_customer_days
     where day >= ({{since}}::timestamptz at time zone 'UTC')::date and day < ({{until}}::timestamptz at time zone 'UTC')::date
     group by utm_source
  ) as seen on seen.utm_source = sourced.utm_source
 order by visitors desc, sourced.utm_source
 limit 10`;

/** Overview: events arriving, in the last minute (polled by the page). */
export const LIVE_EVENTS = `select count(*) as last_minute
  from events
 where "timestamp" >= now() - interval '1 day' and received_at >= now() - interval '1 minute'`;

/** Funnel builder: the track event names to choose steps from, most frequent first. */
export const EVENT_NAMES = `select event, count(*) as customer_days
  from customer_event_days
 group by event
 order by customer_days desc, event
 limit 200`;

/** Funnel builder: Tally's `funnel()` (docs/sql.md), median time in seconds. */
export const FUNNEL = `select step, event, breakdown_value, customers, conversion_from_previous, conversion_from_first,
       extract(epoch from median_time_from_previous)::float8 as median_seconds_from_previous
  from funnel({{steps}}, {{since}}::timestamptz, {{until}}::timestamptz, {{within}}::interval, {{breakdown}})
 order by breakdown_value nulls first, step`;

/** Trends: customers with at least one event, per UTC day (daily roll-ups, whole UTC days). */
export const DAILY_ACTIVE_CUSTOMERS = `select day::text as day, count(*) as customers
  from customer_days
 where day >= ({{since}}::timestamptz at time zone 'UTC')::date and day < ({{until}}::timestamptz at time zone 'UTC')::date
 group by 1
 order by 1`;

/** Trends: events per UTC day, by track event name (pages and other types by their type); daily roll-ups, whole UTC days. */
export const EVENTS_PER_DAY = `select day::text as day, coalesce(event, '(' || type || ')') as name, sum(events)::bigint as events
  from daily_event_counts
 where day >= ({{since}}::timestamptz at time zone 'UTC')::date and day < ({{until}}::timestamptz at time zone 'UTC')::date
 group by 1, 2
 order by 1, 3 desc, 2`;

/**
 * Trends: sessions started per UTC day, by the session's UTM source (the first one seen in the
 * session), from the session roll-up `daily_session_counts` (whole UTC days, as the other
 * trends; a session counts on the day it began; see `tally_refresh_daily_sessions`).
 */
export const SESSIONS_PER_DAY = `select day::text as day, coalesce(utm_source, '(none)') as source, sum(sessions)::bigint as sessions
  from daily_session_counts
 where day >= ({{since}}::timestamptz at time zone 'UTC')::date and day < ({{until}}::timestamptz at time zone 'UTC')::date
 group by 1, 2
 order by 1, 3 desc, 2`;

/**
 * Customer 360°: what Tally holds about each customer found (`customer_transparency`, the
 * summary the data-rights API gives, which reads only their rows) with their traits.
 */
export const CUSTOMER_PROFILE = `select t.customer_id, t.user_ids, c.traits ->> 'email' as email, t.first_seen, t.last_seen, t.identified_at,
       t.events, t.anonymous_ids as devices, t.consent, c.traits, c.trait_sources
  from customer_transparency t
  join customers c on c.id = t.customer_id
 where t.customer_id = any({{customer_ids}}::uuid[])
 order by t.last_seen desc nulls last`;

/** Customer 360°: every identity linked to the customers, and which source first sent it. */
export const CUSTOMER_IDENTITIES = `select kind, value, source_id, customer_id, first_seen_at, last_seen_at
  from identities
 where customer_id = any({{customer_ids}}::uuid[])
 order by first_seen_at, kind, value`;

/** Customer 360°: the merges that made the customers what they are, oldest first. */
export const CUSTOMER_MERGES = `select merged_at, reason, from_customer_id, into_customer_id, source_id, message_id
  from identity_merges
 where from_customer_id = any({{customer_ids}}::uuid[]) or into_customer_id = any({{customer_ids}}::uuid[])
 order by merged_at, id`;

/** Customer 360°: consent changes the person made, oldest first. */
export const CUSTOMER_CONSENT = `select changed_at, source_id, category_preferences, gpc
  from consent_changes
 where customer_id = any({{customer_ids}}::uuid[])
 order by changed_at, message_id`;

/** Customer 360°: orders, newest first. */
export const CUSTOMER_ORDERS = `select order_id, completed_at, revenue, currency, jsonb_array_length(products) as products
  from orders
 where customer_id = any({{customer_ids}}::uuid[])
 order by completed_at desc, order_id`;

/** Customer 360°: the latest 200 events, across every device (anonymousId) and source. */
export const CUSTOMER_TIMELINE = `select "timestamp", type, coalesce(event, name) as event, path, anonymous_id, source_id, device_type, browser, os
  from events
 where customer_id = any({{customer_ids}}::uuid[])
 order by "timestamp" desc, id desc
 limit 200`;

/** Customer 360°: the RFM groups (one per currency bought in) and saved segments the customers are in now. */
export const CUSTOMER_SEGMENTS = `select customer_id, rfm_groups, segments
  from customer_profiles
 where customer_id = any({{customer_ids}}::uuid[])
 order by customer_id`;

/** Segments: customers per RFM group, within each currency (`customer_rfm`, docs/sql.md). */
export const RFM_GROUPS = `select currency, rfm_group, count(*) as customers, sum(net_revenue)::float8 as net_revenue
  from customer_rfm
 group by currency, rfm_group
 order by currency, customers desc, rfm_group`;

/** Segments: the saved segments (each one's size is then its own query, `SEGMENT_SIZE`). */
export const SAVED_SEGMENTS = `select s.name, s.description, s.created_at
  from segments s
 order by s.name`;

/**
 * Segments: one saved segment's number of members now. Asked per segment, so that a definition
 * that no longer runs (a table it reads gone, a trait no longer castable) fails on its own row.
 */
export const SEGMENT_SIZE = `select count(*) as members from segment_members({{segment}})`;

/** Segments: the saved segment of that name, if there is one (asked before its members). */
export const SEGMENT_NAMED = `select name from segments where name = {{segment}}`;

/** Segments: one saved segment's members now, with what finds them in the customer 360° view. */
export const SEGMENT_MEMBERS = `select m.customer_id, p.user_id, p.email, p.last_seen,
       (select i.value from identities i where i.customer_id = m.customer_id and i.kind = 'anonymous' order by i.last_seen_at desc limit 1) as anonymous_id
  from segment_members({{segment}}) m
  left join customer_profiles p on p.customer_id = m.customer_id
 order by p.last_seen desc nulls last, m.customer_id
 limit 500`;

/**
 * Experiments: the experiments seen in `Experiment Viewed` events (with a variant), with their
 * exposed customers, from `experiment_exposure_days` (kept exact by triggers).
 */
export const EXPERIMENT_IDS = `select experiment_id, count(distinct customer_id) as customers, min(first_at) as first_exposed_at
  from experiment_exposure_days
 group by experiment_id
 order by first_exposed_at desc, experiment_id
 limit 200`;

/** Experiments: `experiment_results()` (docs/sql.md) per variant against the control. */
export const EXPERIMENT_RESULTS = `select variant_id, variant_name, is_control, customers as exposed, converted,
       conversion_rate::float8 as conversion_rate, uplift::float8 as uplift,
       ci_low::float8 as ci_low, ci_high::float8 as ci_high, p_value::float8 as p_value
  from experiment_results({{experiment}}, {{goal_event}}, {{since}}::timestamptz, {{until}}::timestamptz)`;
