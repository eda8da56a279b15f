import { sql, type Kysely } from 'kysely';

/**
 * `events` becomes a table partitioned by month of `"timestamp"` (UTC months), so that expiry
 * is a partition drop and funnels over a date range read only the months they cover.
 *
 * Why `"timestamp"` and not `received_at`: every query marketers run (`funnel()`, the
 * `customer_event_days` roll-up, sessions) ranges over the event's time, so those are the
 * ranges the planner can prune; and a month of the roll-up (one row per UTC day of
 * `"timestamp"`) is then exactly a month of events, so dropping a partition expires the
 * roll-up with a range delete, not a recomputation. The collector never stores a timestamp
 * after its arrival (the skew correction caps it), so only the current and next months ever
 * receive new events; a late or far-off past timestamp whose month has no partition (never
 * created, or already expired) lands in `events_default`, which retention empties by row.
 *
 * Exactly-once moves to `event_messages`: a unique index on a partitioned table must contain
 * the partition key, and the same messageId retried with another timestamp (another month)
 * must still be stored once. The insert claims `(source_id, message_id)` in the ledger in
 * the same statement (`tally_claim_messages`) and stores only what it claimed.
 *
 * The existing rows are copied with their ids; the roll-up stays as it is (it already
 * describes these rows), and views over `events` are bound again to the new table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- Creates the monthly partitions from first_month to last_month that do not exist yet.
    -- Rows that arrived while a month had no partition wait in events_default; they move into
    -- the new partition (the roll-up and the ledger already count them). Safe to call from
    -- several collectors at once.
    create function tally_create_event_partitions(first_month date, last_month date) returns integer
    language plpgsql as $fn$
    declare
      m date := date_trunc('month', first_month)::date;
      partition_name text;
      lo timestamptz;
      hi timestamptz;
      created integer := 0;
    begin
      perform pg_advisory_xact_lock(hashtext('tally_create_event_partitions'));
      while m <= last_month loop
        partition_name := 'events_' || to_char(m, 'YYYY_MM');
        if to_regclass(format('%I.%I', current_schema(), partition_name)) is null then
          lo := m::timestamp at time zone 'UTC';
          hi := (m + interval '1 month')::timestamp at time zone 'UTC';
          if exists (select 1 from events_default where "timestamp" >= lo and "timestamp" < hi) then
            create temporary table tally_moving_events (like events) on commit drop;
            with moved as (delete from events_default where "timestamp" >= lo and "timestamp" < hi returning *)
            insert into tally_moving_events select * from moved;
            execute format('create table %I partition of events for values from (%L) to (%L)', partition_name, lo, hi);
            execute format('insert into %I overriding system value select * from tally_moving_events', partition_name);
            drop table tally_moving_events;
          else
            execute format('create table %I partition of events for values from (%L) to (%L)', partition_name, lo, hi);
          end if;
          created := created + 1;
        end if;
        m := (m + interval '1 month')::date;
      end loop;
      return created;
    end
    $fn$;

    create temporary table tally_events_dependents (kind text, name text, definition text, ord serial);

    -- Views are bound to the table, not to its name: keep their definitions (which name
    -- "events") to bind them again to the partitioned table.
    insert into tally_events_dependents (kind, name, definition)
    select distinct on (v.oid) 'view', format('%I', v.relname), pg_get_viewdef(v.oid)
      from pg_depend d
      join pg_rewrite r on r.oid = d.objid
      join pg_class v on v.oid = r.ev_class
     where d.classid = 'pg_rewrite'::regclass and d.refobjid = 'events'::regclass and v.oid <> 'events'::regclass
     order by v.oid;

    -- Every index the funnel and the collector use, as defined today; the primary key and the
    -- message-id index change shape below.
    insert into tally_events_dependents (kind, name, definition)
    select 'index', i.relname, pg_get_indexdef(i.oid)
      from pg_index x join pg_class i on i.oid = x.indexrelid
     where x.indrelid = 'events'::regclass and i.relname not in ('events_pkey', 'events_source_message_id')
     order by i.oid;

    drop trigger events_days_added on events;
    drop trigger events_days_changed on events;
    drop trigger events_days_removed on events;
    alter table events rename to events_unpartitioned;
    do $do$
    declare
      index_name text;
    begin
      for index_name in select i.relname from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = 'events_unpartitioned'::regclass loop
        execute format('alter index %I rename to %I', index_name, left(index_name, 40) || '_unpartitioned');
      end loop;
    end
    $do$;
    alter sequence events_id_seq rename to events_unpartitioned_id_seq;

    create table events (like events_unpartitioned including defaults including identity including generated including storage)
      partition by range ("timestamp");
    -- Past months with no partition of their own, and timestamps far in the past.
    create table events_default partition of events default;

    -- A partition for each month of stored events within ten years, and for this and the
    -- next two months.
    select tally_create_event_partitions(m, m)
      from (select distinct date_trunc('month', "timestamp" at time zone 'UTC')::date as m
              from events_unpartitioned
             where "timestamp" >= now() - interval '10 years') months;
    select tally_create_event_partitions(date_trunc('month', now() at time zone 'UTC')::date,
                                         (date_trunc('month', now() at time zone 'UTC') + interval '2 months')::date);

    insert into events overriding system value select * from events_unpartitioned;
    select setval(pg_get_serial_sequence('events', 'id'), coalesce((select max(id) from events), 0) + 1, false);

    alter table events add constraint events_pkey primary key (id, "timestamp");
    -- Lookups by message id (support, exports); uniqueness lives in event_messages.
    create index events_source_message_id on events (source_id, message_id);
    do $do$
    declare
      definition text;
    begin
      for definition in select d.definition from tally_events_dependents d where d.kind = 'index' order by d.ord loop
        execute definition;
      end loop;
    end
    $do$;

    -- One row per (source, messageId) ever stored and not yet expired: what makes a retried
    -- message a duplicate whatever month its timestamp falls in.
    create table event_messages (
      source_id text not null,
      message_id text not null,
      constraint event_messages_pkey primary key (source_id, message_id)
    );
    insert into event_messages (source_id, message_id) select source_id, message_id from events_unpartitioned;

    -- Claims the (source_id, message_id) of each row (a JSON array of events rows) and
    -- returns the rows it claimed, in the order given (so ids follow it): those no
    -- transaction stored before, the first of any repeated in the array. A message claimed
    -- by a transaction still running waits for it, as a unique index would.
    create function tally_claim_messages(rows jsonb) returns setof jsonb
    language sql volatile as $fn$
      with candidates as (
        select r.value, r.ordinality, r.value ->> 'source_id' as source_id, r.value ->> 'message_id' as message_id,
               row_number() over (partition by r.value ->> 'source_id', r.value ->> 'message_id' order by r.ordinality) as copy
          from jsonb_array_elements(rows) with ordinality r
      ),
      claimed as (
        insert into event_messages (source_id, message_id)
        select source_id, message_id from candidates where copy = 1
        on conflict (source_id, message_id) do nothing
        returning source_id, message_id
      )
      select c.value
        from candidates c
        join claimed m on m.source_id = c.source_id and m.message_id = c.message_id
       where c.copy = 1
       order by c.ordinality
    $fn$;

    create trigger events_days_added after insert on events
      referencing new table as added for each statement execute function tally_event_days_added();
    create trigger events_days_changed after update on events
      referencing old table as before_change new table as after_change for each statement execute function tally_event_days_moved();
    create trigger events_days_removed after delete on events
      referencing old table as before_change for each statement execute function tally_event_days_moved();

    do $do$
    declare
      v record;
    begin
      for v in select d.name, d.definition from tally_events_dependents d where d.kind = 'view' order by d.ord loop
        execute format('create or replace view %s as %s', v.name, v.definition);
      end loop;
    end
    $do$;

    drop table events_unpartitioned;
    drop table tally_events_dependents;
    analyze events;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create temporary table tally_events_dependents (kind text, name text, definition text, ord serial);
    insert into tally_events_dependents (kind, name, definition)
    select distinct on (v.oid) 'view', format('%I', v.relname), pg_get_viewdef(v.oid)
      from pg_depend d
      join pg_rewrite r on r.oid = d.objid
      join pg_class v on v.oid = r.ev_class
     where d.classid = 'pg_rewrite'::regclass and d.refobjid = 'events'::regclass and v.oid <> 'events'::regclass
     order by v.oid;
    insert into tally_events_dependents (kind, name, definition)
    select 'index', i.relname, pg_get_indexdef(i.oid)
      from pg_index x join pg_class i on i.oid = x.indexrelid
     where x.indrelid = 'events'::regclass and i.relname not in ('events_pkey', 'events_source_message_id')
     order by i.oid;

    drop function tally_claim_messages(jsonb);
    drop trigger events_days_added on events;
    drop trigger events_days_changed on events;
    drop trigger events_days_removed on events;
    alter table events rename to events_partitioned;
    do $do$
    declare
      index_name text;
    begin
      for index_name in select i.relname from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = 'events_partitioned'::regclass loop
        execute format('alter index %I rename to %I', index_name, left(index_name, 40) || '_partitioned');
      end loop;
    end
    $do$;
    alter sequence events_id_seq rename to events_partitioned_id_seq;

    create table events (like events_partitioned including defaults including identity including generated including storage);
    insert into events overriding system value select * from events_partitioned;
    select setval(pg_get_serial_sequence('events', 'id'), coalesce((select max(id) from events), 0) + 1, false);
    alter table events add constraint events_pkey primary key (id);
    create unique index events_source_message_id on events (source_id, message_id);
    do $do$
    declare
      v record;
    begin
      for v in select d.definition from tally_events_dependents d where d.kind = 'index' order by d.ord loop
        execute replace(v.definition, ' ON ONLY ', ' ON ');
      end loop;
      for v in select d.name, d.definition from tally_events_dependents d where d.kind = 'view' order by d.ord loop
        execute format('create or replace view %s as %s', v.name, v.definition);
      end loop;
    end
    $do$;
    create trigger events_days_added after insert on events
      referencing new table as added for each statement execute function tally_event_days_added();
    create trigger events_days_changed after update on events
      referencing old table as before_change new table as after_change for each statement execute function tally_event_days_moved();
    create trigger events_days_removed after delete on events
      referencing old table as before_change for each statement execute function tally_event_days_moved();

    drop table events_partitioned;
    drop table event_messages;
    drop function tally_create_event_partitions(date, date);
    drop table tally_events_dependents;
  `.execute(db);
}
