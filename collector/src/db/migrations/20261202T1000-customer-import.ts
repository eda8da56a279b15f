import { sql, type Kysely } from 'kysely';

// Customer imports (docs/design.md §3 rule 9): records from a CRM export or offline orders,
// matched to the workspace's customers by rules with a confidence.
//
// - `import_records`: one row per record an import read and applied or queued, keyed by the
//   fingerprint of the record's content so that importing the same file again changes
//   nothing. It says what happened to the record (a new customer, merged into a customer by
//   which rule and with what confidence, queued for review, then accepted or rejected) and,
//   while it waits for review, the record itself and the evidence of the match. Rows go with
//   their customer when it is deleted (forgetting a person removes what was imported of them).
// - Indexes on the traits the rules compare, so that a chunk of records finds its candidate
//   customers with one indexed look-up per rule. Partial (`where traits ? …`): an anonymous
//   visitor's customer row has no such trait and costs the indexes nothing.
export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(String.raw`
    create table import_records (
      id bigint generated always as identity primary key,
      fingerprint text not null unique,
      import_id uuid not null,
      line integer not null,
      status text not null check (status in ('new', 'merged', 'queued', 'accepted', 'rejected')),
      customer_id uuid references customers (id) on delete cascade,
      candidate_customer_id uuid references customers (id) on delete cascade,
      rule text check (rule in ('user_id', 'email', 'phone', 'name_postcode', 'name_birth_date')),
      confidence numeric(3, 2),
      evidence jsonb,
      record jsonb,
      imported_at timestamptz not null default now(),
      decided_at timestamptz,
      decided_by text
    );
    create index import_records_customer on import_records (customer_id);
    create index import_records_candidate on import_records (candidate_customer_id);
    create index import_records_queued on import_records (id) where status = 'queued';

    -- A customer's name (the name trait, else firstName and lastName) reduced to the ASCII
    -- letters and digits of its lower-cased compatibility decomposition: 'Ánn O''Lee' → 'annolee'.
    -- Coarser than the import's own comparison (import/normalise.ts), so it only narrows the
    -- search: two names the import calls equal always have the same key here.
    create function tally_match_name(traits jsonb) returns text
    language sql immutable parallel safe as $fn$
      select nullif(regexp_replace(lower(normalize(coalesce(nullif(btrim(traits ->> 'name'), ''),
        coalesce(traits ->> 'firstName', '') || ' ' || coalesce(traits ->> 'lastName', '')), NFKD)), '[^a-z0-9]', '', 'g'), '')
    $fn$;

    create index customers_match_email on customers (tally_normalise_email(traits ->> 'email')) where traits ? 'email';
    create index customers_match_phone on customers (regexp_replace(traits ->> 'phone', '[^0-9+]', '', 'g')) where traits ? 'phone';
    create index customers_match_name_postcode on customers
      (tally_match_name(traits), upper(regexp_replace(traits -> 'address' ->> 'postalCode', '\s', '', 'g'))) where traits ? 'address';
    create index customers_match_name_birthday on customers (tally_match_name(traits), left(traits ->> 'birthday', 10)) where traits ? 'birthday';
  `).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index customers_match_name_birthday;
    drop index customers_match_name_postcode;
    drop index customers_match_phone;
    drop index customers_match_email;
    drop function tally_match_name;
    drop table import_records;
  `.execute(db);
}
