-- Daily active customers over the last 30 days, days without activity included. A person
-- on a phone and a laptop who logged in on both counts once.
select day::date as day,
       count(distinct e.customer_id) as active_customers
  from generate_series(date_trunc('day', now()) - interval '29 days', date_trunc('day', now()), interval '1 day') day
  left join events e
    on e."timestamp" >= day and e."timestamp" < day + interval '1 day'
 group by day
 order by day;
