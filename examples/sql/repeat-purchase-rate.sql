-- Repeat purchase rate: of the customers who ever ordered, the share who ordered more
-- than once. customer_profiles counts orders once per order_id, whichever device or
-- browser they were placed from, and leaves cancelled orders out.
select count(*) as customers_with_orders,
       count(*) filter (where orders >= 2) as repeat_customers,
       round(count(*) filter (where orders >= 2)::numeric / nullif(count(*), 0), 4) as repeat_purchase_rate
  from customer_profiles
 where orders > 0;
