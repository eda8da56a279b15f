import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table events (
      id bigint generated always as identity primary key,
      message_id text not null,
      source_id text not null,
      type text not null,
      event text,
      name text,
      anonymous_id text,
      user_id text,
      group_id text,
      previous_id text,
      customer_id uuid,
      "timestamp" timestamptz not null,
      original_timestamp timestamptz,
      sent_at timestamptz,
      received_at timestamptz not null,
      properties jsonb not null default '{}',
      traits jsonb not null default '{}',
      context jsonb not null default '{}',
      url text,
      path text,
      referrer text,
      utm_source text,
      utm_medium text,
      utm_campaign text,
      utm_term text,
      utm_content text,
      browser text,
      browser_version text,
      os text,
      os_version text,
      device_type text,
      ip inet
    );
    create unique index events_source_message_id on events (source_id, message_id);
    create index events_event_timestamp on events (event, "timestamp");
    create index events_customer_timestamp on events (customer_id, "timestamp");

    create table rejected_events (
      id bigint generated always as identity primary key,
      source_id text,
      message_id text,
      reason text not null,
      errors jsonb not null default '[]',
      payload text not null,
      received_at timestamptz not null default now()
    );
    create index rejected_events_received_at on rejected_events (received_at);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table rejected_events; drop table events;`.execute(db);
}
