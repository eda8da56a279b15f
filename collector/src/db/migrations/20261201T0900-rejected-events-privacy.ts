import { sql, type Kysely } from 'kysely';

/**
 * Refused data is not kept whole (DESIGN.md §4, §6):
 * - `consent_refusals`: an event refused for consent leaves only a count per source,
 *   category and UTC day; its old `rejected_events` rows are counted there and deleted.
 * - `rejected_events` keeps a capped excerpt (`payload`, IPs truncated), the sha-256 and size
 *   of the whole item, and hashes of the identifiers found in it (so that a person's rows can
 *   be found and forgotten without their identifiers in clear); a `(source, messageId)` is
 *   kept once.
 * - `rejected_event_usage`: what each source made us store per UTC day, against its budget,
 *   and how many rows were beyond the budget and kept only as a count.
 * - `tally_normalise_email(value)`: an e-mail as compared, trimmed of white space and lower-case.
 * - `tally_identity_hash(kind, value)`: the one rule hashing an identifier (an e-mail is
 *   normalised first).
 * - `tally_admit_rejected(rows)`: the one rule deciding which refused rows are stored.
 * - `deletion_log.rejected_deleted`: forgetting a person counts their rejected rows too.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // String.raw: the regular expressions' backslashes reach Postgres as written.
  await sql.raw(String.raw`
    create function tally_normalise_email(value text) returns text
    language sql immutable strict parallel safe as $fn$
      select nullif(lower(regexp_replace(value, '^\s+|\s+$', '', 'g')), '')
    $fn$;

    create function tally_identity_hash(kind text, value text) returns text
    language sql immutable strict parallel safe as $fn$
      select encode(sha256(convert_to(kind || ':' || case when kind = 'email' then tally_normalise_email(value) else value end, 'UTF8')), 'hex')
    $fn$;

    create table consent_refusals (
      source_id text not null,
      category text not null,
      day date not null,
      events bigint not null,
      primary key (source_id, category, day)
    );

    create table rejected_event_usage (
      source_id text not null,
      day date not null,
      rows_stored integer not null default 0,
      bytes_stored bigint not null default 0,
      rows_over_budget integer not null default 0,
      primary key (source_id, day)
    );

    alter table rejected_events
      add column payload_sha256 text,
      add column payload_bytes integer,
      add column identity_hashes text[] not null default '{}';
    alter table deletion_log add column rejected_deleted integer not null default 0;

    -- Rows stored before this migration: refusals for consent become counts.
    insert into consent_refusals (source_id, category, day, events)
    select coalesce(source_id, ''),
      coalesce(substring(payload from '"category"\s*:\s*"([^"\\]{1,64})"'), 'analytics'),
      (received_at at time zone 'UTC')::date, count(*)
    from rejected_events where reason = 'consent'
    group by 1, 2, 3;
    delete from rejected_events where reason = 'consent';
    -- A messageId is kept to 200 characters, as the collector now keeps it: an index entry
    -- must stay within what a btree takes.
    update rejected_events set message_id = left(message_id, 200) where length(message_id) > 200;
    delete from rejected_events r using rejected_events earlier
    where r.source_id = earlier.source_id and r.message_id = earlier.message_id and earlier.id < r.id;

    -- The others keep a 2 KB excerpt. A migration cannot call the collector's IP rule, so old
    -- excerpts lose the last part of each IPv4 address and every IPv6 address whole.
    update rejected_events set
      payload_sha256 = encode(sha256(convert_to(payload, 'UTF8')), 'hex'),
      payload_bytes = octet_length(payload),
      identity_hashes = array_remove(array[
        tally_identity_hash('user', substring(payload from '"userId"\s*:\s*"([^"\\]+)"')),
        tally_identity_hash('anonymous', substring(payload from '"anonymousId"\s*:\s*"([^"\\]+)"')),
        tally_identity_hash('email', substring(payload from '"email"\s*:\s*"([^"\\]+)"'))
      ], null),
      payload = regexp_replace(
        regexp_replace(left(payload, 2048), '(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}', '\1.0', 'g'),
        '"[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}(:\d{1,3}(\.\d{1,3}){3})?"', '"::"', 'g');

    create unique index rejected_events_source_message on rejected_events (source_id, message_id) where message_id is not null;
    create unique index rejected_events_source_sha256 on rejected_events (source_id, payload_sha256) where message_id is null;
    create index rejected_events_identity_hashes on rejected_events using gin (identity_hashes);
    create index customers_email on customers (tally_normalise_email(traits ->> 'email'));

    -- Of the refused rows a transaction would store, those that fit their source's budget for
    -- the day (rows and bytes), in request order; the rest are counted as over budget. A row
    -- already stored (same source and messageId, or same item without messageId) is neither
    -- stored again nor charged. The ledger rows are locked in key order first, so concurrent
    -- writers of one source take turns and the budget holds across collectors.
    create function tally_admit_rejected(candidates jsonb)
    returns table (
      o_source_id text, o_message_id text, o_reason text, o_errors jsonb, o_payload text,
      o_payload_sha256 text, o_payload_bytes integer, o_identity_hashes text[], o_received_at timestamptz
    )
    language sql volatile as $fn$
      insert into rejected_event_usage as u (source_id, day)
      select distinct c.source_id, (c.received_at at time zone 'UTC')::date
      from jsonb_to_recordset(candidates) as c(source_id text, received_at timestamptz)
      order by 1, 2
      on conflict (source_id, day) do update set rows_stored = u.rows_stored;

      with input as (
        select c.*, (c.received_at at time zone 'UTC')::date as day,
          octet_length(c.payload) + octet_length(c.errors::text) as stored_bytes,
          array(select tally_identity_hash(i.kind, i.value)
                from jsonb_to_recordset(c.identifiers) as i(kind text, value text)
                where i.value is not null) as hashes
        from jsonb_to_recordset(candidates) as c(
          ord integer, source_id text, message_id text, reason text, errors jsonb, payload text, payload_sha256 text,
          payload_bytes integer, identifiers jsonb, received_at timestamptz, budget_rows integer, budget_bytes bigint)
      ),
      fresh as (
        select distinct on (i.source_id, coalesce(i.message_id, ''), case when i.message_id is null then i.payload_sha256 end) i.*
        from input i
        -- Two probes, each answered by one of the two unique indexes.
        where (i.message_id is null or not exists (
                select 1 from rejected_events r where r.source_id = i.source_id and r.message_id = i.message_id))
          and (i.message_id is not null or not exists (
                select 1 from rejected_events r
                where r.source_id = i.source_id and r.message_id is null and r.payload_sha256 = i.payload_sha256))
        order by i.source_id, coalesce(i.message_id, ''), case when i.message_id is null then i.payload_sha256 end, i.ord
      ),
      decided as (
        select f.*,
          u.rows_stored + row_number() over w <= f.budget_rows
            and u.bytes_stored + sum(f.stored_bytes) over w <= f.budget_bytes as admitted
        from fresh f
        join rejected_event_usage u on u.source_id = f.source_id and u.day = f.day
        window w as (partition by f.source_id, f.day order by f.ord)
      ),
      charged as (
        update rejected_event_usage u set
          rows_stored = u.rows_stored + d.admitted_rows,
          bytes_stored = u.bytes_stored + d.admitted_bytes,
          rows_over_budget = u.rows_over_budget + d.refused_rows
        from (
          select source_id, day, count(*) filter (where admitted) as admitted_rows,
            coalesce(sum(stored_bytes) filter (where admitted), 0) as admitted_bytes,
            count(*) filter (where not admitted) as refused_rows
          from decided group by source_id, day
        ) d
        where u.source_id = d.source_id and u.day = d.day
      )
      select source_id, message_id, reason, errors, payload, payload_sha256, payload_bytes, hashes, received_at
      from decided where admitted
      order by ord
    $fn$;
  `).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop function tally_admit_rejected;
    drop index customers_email;
    drop index rejected_events_identity_hashes;
    drop index rejected_events_source_sha256;
    drop index rejected_events_source_message;
    alter table deletion_log drop column rejected_deleted;
    alter table rejected_events drop column identity_hashes, drop column payload_bytes, drop column payload_sha256;
    drop table rejected_event_usage;
    drop table consent_refusals;
    drop function tally_identity_hash;
    drop function tally_normalise_email;
  `.execute(db);
}
