import { sql, type Kysely } from 'kysely';

/**
 * The dashboard (`/dashboard`, see collector/src/dashboard/):
 *
 * - `tally_dashboard`, the read-only group role its queries run under: everything
 *   `tally_marketer` reads, plus the identity graph and the consent history a customer's 360°
 *   view shows (`identities`, `identity_merges`, `consent_changes`, `customer_transparency`).
 *   It writes nothing. Created only if missing and never dropped (roles belong to the cluster).
 * - `dashboard_queries`, the saved queries: a name, the SQL text and how to draw its result.
 *   Written by the collector's own user, never by the dashboard role.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table dashboard_queries (
      id bigint generated always as identity primary key,
      name text not null unique check (length(name) between 1 and 200),
      sql text not null check (length(sql) between 1 and 20000),
      chart text not null default 'table' check (chart in ('table', 'line', 'bar')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    do $do$
    begin
      if not exists (select 1 from pg_roles where rolname = 'tally_dashboard') then
        begin
          create role tally_dashboard nologin;
        exception
          when duplicate_object or unique_violation then
            null;
          when insufficient_privilege then
            raise notice 'tally: cannot create role tally_dashboard (%); a superuser can create it and run the grants in collector/README.md', sqlerrm;
        end;
      end if;
      if (select count(*) from pg_roles where rolname in ('tally_dashboard', 'tally_marketer')) < 2 then
        return;
      end if;
      grant tally_marketer to tally_dashboard;
      execute format('grant usage on schema %I to tally_dashboard', current_schema());
      grant select on identities, identity_merges, consent_changes, customer_transparency to tally_dashboard;
    end
    $do$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    do $do$
    begin
      if exists (select 1 from pg_roles where rolname = 'tally_dashboard') then
        revoke select on identities, identity_merges, consent_changes, customer_transparency from tally_dashboard;
        execute format('revoke usage on schema %I from tally_dashboard', current_schema());
      end if;
    end
    $do$;
    drop table dashboard_queries;
  `.execute(db);
}
