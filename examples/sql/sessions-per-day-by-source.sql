-- Sessions per day by the campaign source that brought them, over the last 30 days, with how
-- many ended in an order. Read from the daily session roll-up: exact as of its last refresh
-- (the collector refreshes yesterday and today every few minutes), and the same as counting
-- the `sessions` view per day without working every session out from the events.
select day::text as day,
       coalesce(utm_source, '(none)') as source,
       sum(sessions)::bigint as sessions,
       sum(converted)::bigint as sessions_with_order
  from daily_session_counts
 where day >= current_date - 29
 group by day, utm_source
 order by day, sessions desc, source;
