import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema/database.js';

/** How a person is looked up: by an identity of the workspace, or by e-mail trait. */
export type PersonKey = { kind: 'user' | 'anonymous' | 'email'; value: string };

/** Where a person's data is: their customers, and the hashes their rejected rows carry. */
export interface PersonLocation {
  customerIds: string[];
  identityHashes: string[];
}

/**
 * The customers a key names (by identity, workspace-wide; by e-mail, the customers whose
 * `email` trait matches once both are trimmed and lower-cased) and the identity hashes under
 * which their rows of `rejected_events` are found: those of every identity and e-mail of those
 * customers, and that of the identifier asked for (a visitor whose every event was refused has
 * no customer, only rejected rows).
 *
 * @example
 * const { customerIds, identityHashes } = await locateCustomers(trx, { kind: 'anonymous', value: 'a-1' });
 */
export async function locateCustomers(db: Kysely<Database>, { kind, value }: PersonKey): Promise<PersonLocation> {
  const customers = await customersNamedBy(db, { kind, value }).execute();
  const customerIds = customers.map((row) => row.customer_id);
  const { rows } = await sql<{ hash: string }>`
    select tally_identity_hash(${kind}, ${value}) as hash
    union
    select unnest(tally_customer_identity_hashes(id)) from unnest(${sqlArray(customerIds, 'uuid')}) as id`.execute(db);
  return { customerIds, identityHashes: rows.map((row) => row.hash) };
}

/** A query, built but not run, of the customers a key names: compiled to be shown, or executed. */
export interface CustomersQuery {
  compile(): CompiledQuery;
  execute(): Promise<{ customer_id: string }[]>;
}

/**
 * The customers a key names, the first half of `locateCustomers`, as a query not yet run, so
 * that the dashboard can show the exact SQL of its customer search.
 *
 * @example
 * const { sql, parameters } = customersNamedBy(db, { kind: 'email', value: 'Ann@Example.com' }).compile();
 */
export function customersNamedBy(db: Kysely<Database>, { kind, value }: PersonKey): CustomersQuery {
  if (kind === 'email') {
    return db
      .selectFrom('customers')
      .select('id as customer_id')
      .where(sql<string>`tally_normalise_email(traits ->> 'email')`, '=', sql<string>`tally_normalise_email(${value})`);
  }
  return db.selectFrom('identities').select('customer_id').distinct().where('kind', '=', kind).where('value', '=', value);
}

/** One customer as the transparency view shows it. */
export interface CustomerSummary {
  customer_id: string;
  user_ids: string[];
  anonymous_ids: number;
  identities: number;
  trait_keys: string[];
  events: number;
  first_seen: Date | null;
  last_seen: Date | null;
  identified_at: Date | null;
  consent: Record<string, boolean> | null;
  consent_changes: { at: string; source_id: string; category_preferences: Record<string, boolean>; gpc: boolean | null }[];
  last_consent_change_at: Date | null;
  rejected_events: number;
}

/** The `customer_transparency` rows of some customers, most recently seen first. */
export async function customerSummaries(db: Kysely<Database>, customerIds: readonly string[]): Promise<CustomerSummary[]> {
  if (customerIds.length === 0) return [];
  const { rows } = await sql<CustomerSummary>`
    select * from customer_transparency where customer_id = any(${sqlArray(customerIds, 'uuid')})
    order by last_seen desc nulls last, customer_id`.execute(db);
  return rows;
}

/** How many rows of `rejected_events` carry one of these identity hashes. */
export async function countRejected(db: Kysely<Database>, hashes: readonly string[]): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::integer as n from rejected_events where identity_hashes && ${sqlArray(hashes, 'text')}`.execute(db);
  return rows[0]!.n;
}

/** The rows of `rejected_events` carrying one of these identity hashes (their excerpts), oldest first. */
export function rejectedRowsOf(db: Kysely<Database>, hashes: readonly string[]) {
  return db
    .selectFrom('rejected_events')
    .select(['source_id', 'message_id', 'reason', 'errors', 'payload', 'payload_bytes', 'received_at'])
    .where(sql<boolean>`identity_hashes && ${sqlArray(hashes, 'text')}`)
    .orderBy('received_at')
    .orderBy('id')
    .execute();
}

/**
 * Everything held in the tables of some customers: their rows, identities, merges (from or
 * into them), events and consent changes. Call with at least one id.
 */
export async function customersData(db: Kysely<Database>, customerIds: readonly string[]) {
  const ids = [...customerIds];
  return {
    profile: await db.selectFrom('customers').selectAll().where('id', 'in', ids).orderBy('first_seen_at').execute(),
    identities: await db.selectFrom('identities').selectAll().where('customer_id', 'in', ids).orderBy('first_seen_at').orderBy('kind').orderBy('value').execute(),
    merges: await db
      .selectFrom('identity_merges')
      .selectAll()
      .where((eb) => eb.or([eb('from_customer_id', 'in', ids), eb('into_customer_id', 'in', ids)]))
      .orderBy('id')
      .execute(),
    events: await db.selectFrom('events').selectAll().where('customer_id', 'in', ids).orderBy('timestamp').orderBy('id').execute(),
    consentChanges: await db.selectFrom('consent_changes').selectAll().where('customer_id', 'in', ids).orderBy('changed_at').orderBy('message_id').execute(),
  };
}

/** How many rows forgetting a person deleted, table by table. */
export interface DeletedRows {
  customers: number;
  identities: number;
  events: number;
  merges: number;
  rejectedEvents: number;
}

/**
 * Deletes the customers with all their events, identities and the `identity_merges` rows
 * naming them, and the rows of `rejected_events` carrying one of the hashes.
 */
export async function deletePersonRows(trx: Kysely<Database>, customerIds: readonly string[], hashes: readonly string[]): Promise<DeletedRows> {
  const rejected = await trx.deleteFrom('rejected_events').where(sql<boolean>`identity_hashes && ${sqlArray(hashes, 'text')}`).executeTakeFirst();
  const result: DeletedRows = { customers: 0, identities: 0, events: 0, merges: 0, rejectedEvents: Number(rejected.numDeletedRows) };
  if (customerIds.length === 0) return result;
  const ids = [...customerIds];
  const events = await trx.deleteFrom('events').where('customer_id', 'in', ids).executeTakeFirst();
  const identities = await trx.deleteFrom('identities').where('customer_id', 'in', ids).executeTakeFirst();
  const merges = await trx
    .deleteFrom('identity_merges')
    .where((eb) => eb.or([eb('from_customer_id', 'in', ids), eb('into_customer_id', 'in', ids)]))
    .executeTakeFirst();
  const customers = await trx.deleteFrom('customers').where('id', 'in', ids).executeTakeFirst();
  // The daily roll-ups hold customer ids per day: theirs go now; the days' counts change when
  // those days are next refreshed (docs/sql.md, Daily roll-ups).
  await sql`delete from customer_days where customer_id = any(${sqlArray(ids, 'uuid')})`.execute(trx);
  await sql`delete from customer_page_days where customer_id = any(${sqlArray(ids, 'uuid')})`.execute(trx);
  await sql`delete from referrer_customer_days where customer_id = any(${sqlArray(ids, 'uuid')})`.execute(trx);
  await sql`delete from utm_source_customer_days where customer_id = any(${sqlArray(ids, 'uuid')})`.execute(trx);
  result.events = Number(events.numDeletedRows);
  result.identities = Number(identities.numDeletedRows);
  result.merges = Number(merges.numDeletedRows);
  result.customers = Number(customers.numDeletedRows);
  return result;
}

/** Writes the `deletion_log` row of a deletion: how it was asked for, by whom, how much it removed; never whom. */
export async function logDeletion(trx: Kysely<Database>, deleted: DeletedRows, how: { channel: string; actor: string | null }): Promise<void> {
  await trx
    .insertInto('deletion_log')
    .values({
      channel: how.channel,
      actor: how.actor,
      customers_deleted: deleted.customers,
      identities_deleted: deleted.identities,
      events_deleted: deleted.events,
      merges_deleted: deleted.merges,
      rejected_deleted: deleted.rejectedEvents,
    })
    .execute();
}

/**
 * Deletions so far, newest first (for operators; holds no personal data).
 *
 * @example
 * const recent = await deletionLog(database.db, 10);
 */
export async function deletionLog(db: Kysely<Database>, limit = 100) {
  return db.selectFrom('deletion_log').selectAll().orderBy('id', 'desc').limit(limit).execute();
}

/**
 * A SQL array of strings, passed as one jsonb parameter (both engines take jsonb alike).
 *
 * @example
 * sql`select * from customers where id = any(${sqlArray(ids, 'uuid')})`;
 */
export function sqlArray(values: readonly string[], type: 'text' | 'uuid') {
  return sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))::${sql.raw(type)}[]`;
}
