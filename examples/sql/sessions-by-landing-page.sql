-- Where visits start, and which landing pages lead to orders, over the last 7 days.
select landing_path,
       count(*) as sessions,
       count(*) filter (where completed_order) as sessions_with_order,
       round(avg(events), 1) as average_events
  from sessions
 where started_at >= now() - interval '7 days'
 group by landing_path
 order by sessions desc, landing_path
 limit 20;
