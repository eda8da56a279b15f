import { sql, type Kysely } from 'kysely';
import { grantToRoles } from '../role-grants.js';

/**
 * Revenue right: per currency, never summed across currencies, with refunds and
 * cancellations subtracted (docs/sql.md, "Revenue").
 *
 * - `exchange_rates`: optional; what one unit of a currency is worth in the reporting
 *   currency from a day on. Only converted columns read it.
 * - `order_revenue`: one row per order with its gross, refunded and net revenue.
 * - `customer_revenue`: one row per customer and currency: historical lifetime value.
 * - `revenue_by_day`: one row per UTC day (of the order) and currency.
 * - `customer_lifetime_value(expected_lifetime)`: historical and predicted CLV per customer
 *   and currency, each part of the prediction a column of its own.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table exchange_rates (
      currency text not null check (currency ~ '^[A-Z]{3}$'),
      valid_from date not null,
      rate numeric not null check (rate > 0),
      primary key (currency, valid_from)
    );
    comment on table exchange_rates is
      'One unit of currency is worth rate units of the reporting currency from valid_from on (the reporting currency itself has rate 1).';

    -- The checks of the reports' arguments, each worded once: 'caller: what must be …'.
    create function tally_check_positive(value interval, caller text, what text) returns void
    language plpgsql immutable as $fn$
    begin
      if value is null or value <= interval '0' then
        raise exception '%: % must be a positive interval, got %', caller, what, value using errcode = '22023';
      end if;
    end
    $fn$;

    create function tally_check_range(since timestamptz, until timestamptz, caller text) returns void
    language plpgsql immutable as $fn$
    begin
      if since is null or until is null or since >= until then
        raise exception '%: since (%) must be before until (%)', caller, since, until using errcode = '22023';
      end if;
    end
    $fn$;

    -- The rate of a currency on a day: the latest one valid on that day.
    create function exchange_rate(currency text, day date) returns numeric
    language sql stable parallel safe as $fn$
      select r.rate from exchange_rates r
       where r.currency = exchange_rate.currency and r.valid_from <= exchange_rate.day
       order by r.valid_from desc limit 1
    $fn$;

    -- The amount an 'Order Refunded' or 'Order Cancelled' event names, as orders read it;
    -- null when it names none (a refund of the whole order).
    create function tally_event_amount(properties jsonb) returns numeric
    language sql immutable parallel safe as $fn$
      select coalesce(
        json_number(properties -> 'revenue'),
        json_number(properties -> 'total'),
        (select sum(json_number(p -> 'price') * coalesce(json_number(p -> 'quantity'), 1))
           from jsonb_array_elements(case when jsonb_typeof(properties -> 'products') = 'array' then properties -> 'products' else '[]' end) p))
    $fn$;

    -- One row per order. A cancellation takes back the whole order; a refund the amount it
    -- names (the whole order when it names none); never more than the order's revenue.
    create view order_revenue as
    with adjustments as (
      select properties ->> 'order_id' as order_id,
             bool_or(event = 'Order Cancelled') as cancelled,
             bool_or(event = 'Order Refunded' and tally_event_amount(properties) is null) as fully_refunded,
             sum(greatest(tally_event_amount(properties), 0)) filter (where event = 'Order Refunded') as refunded
        from events
       where event in ('Order Refunded', 'Order Cancelled') and properties ->> 'order_id' is not null
       group by 1
    ),
    settled as (
      select o.order_id, o.customer_id, o.completed_at, upper(trim(o.currency)) as currency,
             greatest(o.revenue, 0) as gross_revenue,
             coalesce(a.cancelled, false) as cancelled,
             case when a.cancelled or a.fully_refunded then greatest(o.revenue, 0)
                  else least(greatest(o.revenue, 0), coalesce(a.refunded, 0)) end as refunded
        from orders o
        left join adjustments a on a.order_id = o.order_id
    )
    select s.order_id, s.customer_id, s.completed_at, s.currency, s.gross_revenue, s.refunded,
           s.gross_revenue - s.refunded as net_revenue, s.cancelled,
           (s.gross_revenue - s.refunded) * exchange_rate(s.currency, (s.completed_at at time zone 'UTC')::date) as converted_net_revenue
      from settled s;

    -- Historical lifetime value per customer and currency. A cancelled order is not counted
    -- as an order; a refunded one is, with what was kept of it.
    create view customer_revenue as
    select customer_id, currency,
           count(*) filter (where not cancelled) as orders,
           count(*) filter (where cancelled) as cancelled_orders,
           sum(gross_revenue) as gross_revenue,
           sum(refunded) as refunded,
           sum(net_revenue) as net_revenue,
           round(sum(net_revenue) / nullif(count(*) filter (where not cancelled), 0), 2) as average_order_value,
           min(completed_at) filter (where not cancelled) as first_order_at,
           max(completed_at) filter (where not cancelled) as last_order_at
      from order_revenue
     where customer_id is not null
     group by customer_id, currency;

    create view revenue_by_day as
    select (completed_at at time zone 'UTC')::date as day, currency,
           count(*) filter (where not cancelled) as orders,
           count(distinct customer_id) filter (where not cancelled) as customers,
           sum(gross_revenue) as gross_revenue,
           sum(refunded) as refunded,
           sum(net_revenue) as net_revenue,
           round(sum(net_revenue) / nullif(count(*) filter (where not cancelled), 0), 2) as average_order_value,
           sum(converted_net_revenue) as converted_net_revenue,
           count(*) filter (where converted_net_revenue is null) as unconverted_orders
      from order_revenue
     group by 1, 2;

    -- Historical CLV, and a predicted CLV = average order value × purchases per year ×
    -- expected lifetime in years. The purchase rate is the customer's orders over the years
    -- since their first order (UTC days / 365.25), counting at least one year, so that a
    -- new customer's single order reads as one a year rather than dozens.
    create function customer_lifetime_value(expected_lifetime interval default '3 years')
    returns table (
      customer_id uuid,
      currency text,
      orders bigint,
      historical_clv numeric,
      average_order_value numeric,
      customer_years numeric,
      purchase_rate_per_year numeric,
      expected_lifetime_years numeric,
      predicted_clv numeric,
      converted_historical_clv numeric,
      converted_predicted_clv numeric
    )
    language plpgsql stable as $fn$
    declare
      lifetime_years numeric;
    begin
      perform tally_check_positive(expected_lifetime, 'customer_lifetime_value', 'expected_lifetime');
      lifetime_years := round(extract(epoch from expected_lifetime) / 31557600, 4);
      return query
      with per_customer as (
        select r.customer_id, r.currency, r.orders, r.net_revenue, r.average_order_value,
               round((((now() at time zone 'UTC')::date - (r.first_order_at at time zone 'UTC')::date) / 365.25)::numeric, 4) as years
          from customer_revenue r
         where r.orders > 0
      ),
      converted as (
        select o.customer_id, o.currency, sum(o.converted_net_revenue) as value,
               bool_and(o.converted_net_revenue is not null) as complete
          from order_revenue o
         where o.customer_id is not null and not o.cancelled
         group by 1, 2
      ),
      predicted as (
        select p.*, round(p.orders / greatest(p.years, 1), 4) as rate,
               round(p.average_order_value * round(p.orders / greatest(p.years, 1), 4) * lifetime_years, 2) as value
          from per_customer p
      )
      select p.customer_id, p.currency, p.orders, p.net_revenue, p.average_order_value, p.years, p.rate, lifetime_years, p.value,
             case when c.complete then c.value end,
             round(p.value * exchange_rate(p.currency, (now() at time zone 'UTC')::date), 2)
        from predicted p
        left join converted c on c.customer_id = p.customer_id and c.currency is not distinct from p.currency
       order by p.customer_id, p.currency;
    end
    $fn$;
  `.execute(db);
  await grantToRoles(db, {
    tally_analyst: ['select on order_revenue, customer_revenue, revenue_by_day, exchange_rates',
      'execute on function customer_lifetime_value(interval)'],
    tally_marketer: ['select on order_revenue, customer_revenue, revenue_by_day, exchange_rates',
      'insert, update, delete on exchange_rates', 'execute on function customer_lifetime_value(interval)'],
  });
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop function customer_lifetime_value(interval);
    drop view revenue_by_day;
    drop view customer_revenue;
    drop view order_revenue;
    drop function tally_event_amount(jsonb);
    drop function exchange_rate(text, date);
    drop function tally_check_range(timestamptz, timestamptz, text);
    drop function tally_check_positive(interval, text, text);
    drop table exchange_rates;
  `.execute(db);
}
