-- How many customers are in each RFM group (scored within their currency), and the
-- revenue they brought.
select currency,
       rfm_group,
       count(*) as customers,
       sum(net_revenue) as net_revenue
  from customer_rfm
 group by currency, rfm_group
 order by currency, rfm_group;
