-- Repeat buyers at a glance: what they spent per currency, where they first came from,
-- their devices and segments.
select revenue,
       first_source ->> 'source' as first_source,
       jsonb_array_length(device_list) as device_kinds,
       rfm_groups,
       segments
  from customer_profiles
 where orders >= 2
 order by last_seen desc;
