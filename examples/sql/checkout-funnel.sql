-- Checkout funnel: of the customers who viewed a product in the last 30 days, how many
-- then added something to the cart, started a checkout and completed an order, in that
-- order and within one day of the product view?
--
-- funnel() counts each customer once, at the furthest step they reached. Anonymous
-- browsing before a login counts for the customer who logged in.
--
--   step | event            | customers | conversion_from_previous | conversion_from_first | median_time_from_previous
select step,
       event,
       customers,
       conversion_from_previous,
       conversion_from_first,
       median_time_from_previous
  from funnel(
         steps  => array['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'],
         since  => now() - interval '30 days',
         until  => now(),
         within => interval '1 day'
       );
