-- Products that customers put in the cart in the last 30 days but nobody bought in that
-- time: candidates for a price check or a reminder e-mail.
select e.properties ->> 'product_id' as product_id,
       count(*) as times_added,
       count(distinct e.customer_id) as customers
  from events e
 where e.event = 'Product Added'
   and e."timestamp" >= now() - interval '30 days'
   and e.properties ->> 'product_id' is not null
   and not exists (
         select 1 from order_items i
          where i.product_id = e.properties ->> 'product_id'
            and i.completed_at >= now() - interval '30 days')
 group by 1
 order by times_added desc, product_id;
