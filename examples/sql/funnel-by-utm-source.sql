-- The checkout funnel broken down by campaign source: each customer is counted under the
-- utm_source of the last campaign visit they made before viewing a product (last touch).
-- Customers who never came through a campaign link appear under a null source.
select coalesce(breakdown_value, '(none)') as utm_source,
       step,
       event,
       customers,
       conversion_from_first
  from funnel(
         steps     => array['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'],
         since     => now() - interval '30 days',
         until     => now(),
         within    => interval '1 day',
         breakdown => 'utm_source'
       )
 order by breakdown_value nulls last, step;
