-- The checkout-button A/B test: per variant, who ordered after first seeing it, the uplift
-- against the control with its 95 % confidence interval and p-value.
select coalesce(variant_name, variant_id, '(several variants)') as variant,
       customers,
       converted,
       conversion_rate,
       uplift,
       ci_low,
       ci_high,
       p_value
  from experiment_results('checkout-button', 'Order Completed', now() - interval '30 days', now())
 order by is_control desc, variant_id nulls last;
