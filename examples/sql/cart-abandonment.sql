-- Cart abandonment over the last 30 days: customers who added a product to the cart, and
-- how many of them placed no order after their last add.
with carts as (
  select customer_id, max("timestamp") as last_added_at
    from events
   where event = 'Product Added'
     and "timestamp" >= now() - interval '30 days'
   group by customer_id
),
outcome as (
  select c.customer_id,
         exists (select 1 from orders o
                  where o.customer_id = c.customer_id and o.completed_at >= c.last_added_at) as ordered
    from carts c
)
select count(*) as customers_with_cart,
       count(*) filter (where not ordered) as abandoned,
       round(count(*) filter (where not ordered)::numeric / nullif(count(*), 0), 4) as abandonment_rate
  from outcome;
