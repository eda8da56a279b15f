import { sql, type Kysely, type Selectable } from 'kysely';
import type { CustomerPatch } from '../identity/stitch-plan.js';
import type { EventRecord } from '../ingest/records.js';
import { insertEvents } from './event-store.js';
import { lockAndReadIdentities, upsertCustomers } from './identity-store.js';
import { sqlArray } from './people-store.js';
import type { Database } from './schema/database.js';
import type { ImportRecordsTable, MatchRule } from './schema/import.js';

// The SQL of customer imports (see `import/`). A chunk of records is matched and written in
// one transaction: `lockAndReadUserIds` (identity locks as stitching takes them, and the
// userIds' customers), `findCandidateCustomers`, then `writeImportChunk`.

/**
 * Takes the locks stitching takes for these userIds (`lockAndReadIdentities`, the graph
 * lock shared), so that no batch of events creates one of them meanwhile, and returns the
 * customer of each that exists.
 */
export async function lockAndReadUserIds(trx: Kysely<Database>, userIds: readonly string[]): Promise<Map<string, string>> {
  const found = await lockAndReadIdentities(trx, userIds.map((value) => ({ kind: 'user' as const, value })), false);
  return new Map(found.map((row) => [row.o_value, row.o_customer_id]));
}

/** What a chunk of records looks customers up by: normalised (see `import/normalise.ts`), names as written. */
export interface CandidateLookup {
  emails: string[];
  phones: string[];
  namePostcodes: { name: string; postcode: string }[];
  nameBirthDates: { name: string; birthDate: string }[];
  /** Customers wanted whatever their traits (those of the records' userIds). */
  customerIds: string[];
}

/** A customer that may match, with the traits the rules compare and its userIds. */
export interface CandidateCustomer {
  id: string;
  traits: { email?: unknown; phone?: unknown; name?: unknown; firstName?: unknown; lastName?: unknown; postalCode?: unknown; birthday?: unknown };
  user_ids: string[];
}

/**
 * The customers having one of the e-mails or phones, or one of the names with its postcode
 * or birth date (each an indexed look-up, see the migration 20261202T1000-customer-import),
 * and those named by id. The SQL expressions only narrow the search (names by
 * `tally_match_name`): the caller compares what comes back by its own rules.
 */
export async function findCandidateCustomers(trx: Kysely<Database>, lookup: CandidateLookup): Promise<CandidateCustomer[]> {
  const { rows } = await sql<CandidateCustomer>`
    with wanted as (
      select id from customers
      where traits ? 'email' and tally_normalise_email(traits ->> 'email') = any(${sqlArray(lookup.emails, 'text')})
      union
      select id from customers
      where traits ? 'phone' and regexp_replace(traits ->> 'phone', '[^0-9+]', '', 'g') = any(${sqlArray(lookup.phones, 'text')})
      union
      select c.id from jsonb_to_recordset(${JSON.stringify(lookup.namePostcodes)}::jsonb) as r(name text, postcode text)
      join customers c on c.traits ? 'address'
        and tally_match_name(c.traits) = tally_match_name(jsonb_build_object('name', r.name))
        and upper(regexp_replace(c.traits -> 'address' ->> 'postalCode', '\\s', '', 'g')) = r.postcode
      union
      select c.id from jsonb_to_recordset(${JSON.stringify(lookup.nameBirthDates)}::jsonb) as r(name text, "birthDate" text)
      join customers c on c.traits ? 'birthday'
        and tally_match_name(c.traits) = tally_match_name(jsonb_build_object('name', r.name))
        and left(c.traits ->> 'birthday', 10) = r."birthDate"
      union
      select unnest(${sqlArray(lookup.customerIds, 'uuid')})
    )
    select c.id,
      jsonb_strip_nulls(jsonb_build_object(
        'email', c.traits -> 'email', 'phone', c.traits -> 'phone', 'name', c.traits -> 'name',
        'firstName', c.traits -> 'firstName', 'lastName', c.traits -> 'lastName',
        'postalCode', c.traits -> 'address' -> 'postalCode', 'birthday', c.traits -> 'birthday')) as traits,
      -- The kind is filtered after the look-up by customer, so that no plan scans every userId for each candidate.
      coalesce((select array_agg(i.value order by i.value) filter (where i.kind = 'user') from identities i where i.customer_id = c.id), '{}') as user_ids
    from customers c join wanted w on w.id = c.id`.execute(trx);
  return rows;
}

/** The fingerprints of these that an import already applied or queued. */
export async function importedFingerprints(trx: Kysely<Database>, fingerprints: readonly string[]): Promise<Set<string>> {
  const { rows } = await sql<{ fingerprint: string }>`
    select fingerprint from import_records where fingerprint = any(${sqlArray(fingerprints, 'text')})`.execute(trx);
  return new Set(rows.map((row) => row.fingerprint));
}

/** An identity an import links to a customer; an existing one is left where it is. */
export interface ImportedIdentity {
  kind: 'user' | 'anonymous';
  value: string;
  customer_id: string;
  source_id: string;
  seen_at: string;
}

/** One row of `import_records` as an import writes it (a new record, or a queued one decided). */
export type ImportRecordWrite = Pick<
  Selectable<ImportRecordsTable>,
  'fingerprint' | 'import_id' | 'line' | 'status' | 'customer_id' | 'candidate_customer_id' | 'rule' | 'decided_by'
> & { confidence: number | null; evidence: object | null; record: object | null };

/** Everything a chunk of records (or one reviewed record) writes. */
export interface ImportWrite {
  /** Customers created or updated, at most one patch per customer. */
  customers: CustomerPatch[];
  identities: ImportedIdentity[];
  /** Order events with their customers. */
  events: (EventRecord & { customer_id: string })[];
  records: ImportRecordWrite[];
}

/**
 * Writes a chunk of matched records in the caller's transaction: customers (traits merged by
 * the rule stitching uses, `trait_sources` recorded), the identities linking them, the
 * order events (a messageId already stored is a duplicate and stored once) and the
 * `import_records` rows (a queued record decided updates its own row). Returns how many events were stored.
 */
export async function writeImportChunk(trx: Kysely<Database>, write: ImportWrite): Promise<{ eventsStored: number }> {
  if (write.customers.length > 0) await upsertCustomers(write.customers).execute(trx);
  if (write.identities.length > 0) {
    await sql`
      insert into identities (kind, source_id, value, customer_id, first_seen_at, last_seen_at)
      select kind, source_id, value, customer_id, seen_at, seen_at
      from jsonb_to_recordset(${JSON.stringify(write.identities)}::jsonb)
        as r(kind text, source_id text, value text, customer_id uuid, seen_at timestamptz)
      on conflict (kind, value) do nothing`.execute(trx);
  }
  let eventsStored = 0;
  if (write.events.length > 0) {
    const { rows } = await insertEvents(JSON.stringify(write.events)).execute(trx);
    eventsStored = rows.length;
  }
  if (write.records.length > 0) {
    await sql`
      insert into import_records as ir (fingerprint, import_id, line, status, customer_id, candidate_customer_id, rule, confidence, evidence, record, decided_at, decided_by)
      select fingerprint, import_id, line, status, customer_id, candidate_customer_id, rule, confidence, evidence, record,
        case when decided_by is not null then now() end, decided_by
      from jsonb_to_recordset(${JSON.stringify(write.records)}::jsonb)
        as r(fingerprint text, import_id uuid, line integer, status text, customer_id uuid, candidate_customer_id uuid,
             rule text, confidence numeric, evidence jsonb, record jsonb, decided_by text)
      on conflict (fingerprint) do update set
        status = excluded.status, customer_id = excluded.customer_id, record = excluded.record,
        decided_at = excluded.decided_at, decided_by = excluded.decided_by`.execute(trx);
  }
  return { eventsStored };
}

/** A record waiting for review, as listed. */
export interface QueuedRecord {
  id: string;
  import_id: string;
  line: number;
  candidate_customer_id: string;
  rule: MatchRule;
  confidence: number;
  evidence: Record<string, unknown>;
  record: Record<string, unknown>;
  imported_at: Date;
}

/** Records waiting for review, oldest first, after `afterId`. */
export async function listQueuedRecords(db: Kysely<Database>, options: { limit: number; afterId?: string | undefined }): Promise<QueuedRecord[]> {
  const { rows } = await sql<QueuedRecord>`
    select id::text, import_id, line, candidate_customer_id, rule, confidence::float8 as confidence, evidence, record, imported_at
    from import_records
    where status = 'queued' and id > ${options.afterId ?? '0'}::bigint
    order by id
    limit ${options.limit}`.execute(db);
  return rows;
}

/** Locks a record waiting for review until the end of the transaction; undefined when there is none with that id (or it was decided). */
export async function lockQueuedRecord(trx: Kysely<Database>, id: string): Promise<(QueuedRecord & { fingerprint: string }) | undefined> {
  const { rows } = await sql<QueuedRecord & { fingerprint: string }>`
    select id::text, fingerprint, import_id, line, candidate_customer_id, rule, confidence::float8 as confidence, evidence, record, imported_at
    from import_records where id = ${id}::bigint and status = 'queued'
    for update`.execute(trx);
  return rows[0];
}

/** How many records wait for review. */
export async function countQueuedRecords(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::integer as n from import_records where status = 'queued'`.execute(db);
  return rows[0]!.n;
}
