-- Revenue per currency, net of refunds and cancellations: amounts in different currencies
-- are never added up. Average order value and average lifetime value per customer.
select currency,
       count(*) as customers,
       sum(orders) as orders,
       sum(net_revenue) as net_revenue,
       round(sum(net_revenue) / nullif(sum(orders), 0), 2) as average_order_value,
       round(avg(net_revenue), 2) as average_lifetime_value
  from customer_revenue
 group by currency
 order by currency;
