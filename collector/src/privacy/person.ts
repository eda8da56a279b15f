import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema/database.js';
import { isPlaceholderId } from '../identity/placeholder-ids.js';

/** How a person is named in a data-rights request: by exactly one of their identifiers. */
export type PersonQuery = { userId: string } | { anonymousId: string } | { email: string };

/** A data-rights request that names nobody, or names someone by something unusable. */
export class PersonQueryError extends Error {
  override name = 'PersonQueryError';
}

const FIELDS = ['userId', 'anonymousId', 'email'] as const;

/**
 * Checks that a request names one person by exactly one of `userId`, `anonymousId` or
 * `email`, a non-empty string that is not a placeholder such as `anonymous` (which would
 * name thousands of people at once). Throws a `PersonQueryError` saying what is wrong.
 *
 * @example
 * parsePersonQuery({ email: 'Ann@Example.com ' }); // { email: 'Ann@Example.com ' }
 */
export function parsePersonQuery(input: unknown): PersonQuery {
  const record = typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  const given = FIELDS.filter((field) => record[field] !== undefined);
  if (given.length !== 1) throw new PersonQueryError('name the person by exactly one of userId, anonymousId or email');
  const field = given[0]!;
  const value = record[field];
  if (typeof value !== 'string' || value.trim() === '') throw new PersonQueryError(`${field}: expected a non-empty string`);
  if (field !== 'email' && isPlaceholderId(value)) throw new PersonQueryError(`${field}: "${value}" is a placeholder, not anyone's identifier`);
  if (field === 'email' && !value.includes('@')) throw new PersonQueryError('email: expected an e-mail address');
  return { [field]: value } as PersonQuery;
}

/** Where a person's data is: their customers, and the hashes their rejected rows carry. */
export interface PersonLocation {
  customerIds: string[];
  identityHashes: string[];
}

/**
 * The customers a query names (by identity, workspace-wide; by e-mail, the customers whose
 * `email` trait matches once both are trimmed and lower-cased) and the identity hashes under
 * which their rows of `rejected_events` are found: those of every identity and e-mail of those
 * customers, and that of the identifier asked for (a visitor whose every event was refused has
 * no customer, only rejected rows).
 *
 * @example
 * const { customerIds, identityHashes } = await locatePerson(trx, { anonymousId: 'a-1' });
 */
export async function locatePerson(db: Kysely<Database>, query: PersonQuery): Promise<PersonLocation> {
  const [kind, value] = 'userId' in query ? ['user', query.userId] : 'anonymousId' in query ? ['anonymous', query.anonymousId] : ['email', query.email];
  const customers =
    kind === 'email'
      ? await db
          .selectFrom('customers')
          .select('id as customer_id')
          .where(sql<string>`tally_normalise_email(traits ->> 'email')`, '=', sql<string>`tally_normalise_email(${value})`)
          .execute()
      : await db
          .selectFrom('identities')
          .select('customer_id')
          .distinct()
          .where('kind', '=', kind as 'user' | 'anonymous')
          .where('value', '=', value)
          .execute();
  const customerIds = customers.map((row) => row.customer_id);
  const { rows } = await sql<{ hash: string }>`
    select tally_identity_hash(${kind}, ${value}) as hash
    union
    select unnest(tally_customer_identity_hashes(id)) from unnest(${sqlArray(customerIds, 'uuid')}) as id`.execute(db);
  return { customerIds, identityHashes: rows.map((row) => row.hash) };
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

/** What `findPerson` answers: what Tally holds about a person, without the data itself. */
export interface PersonSummary {
  customers: CustomerSummary[];
  /** Rows of `rejected_events` that carry one of the person's identifiers. */
  rejectedEvents: number;
}

/**
 * Finds a person by userId, anonymousId or e-mail and says what Tally holds about them and
 * on what consent (the `customer_transparency` view), or null when Tally holds nothing.
 *
 * @example
 * const summary = await findPerson(database.db, { email: 'ann@example.com' });
 */
export async function findPerson(db: Kysely<Database>, query: PersonQuery): Promise<PersonSummary | null> {
  const location = await locatePerson(db, query);
  const customers = await customerSummaries(db, location.customerIds);
  const rejectedEvents = await countRejected(db, location.identityHashes);
  if (customers.length === 0 && rejectedEvents === 0) return null;
  return { customers, rejectedEvents };
}

/** The `customer_transparency` rows of some customers, most recently seen first. */
export async function customerSummaries(db: Kysely<Database>, customerIds: readonly string[]): Promise<CustomerSummary[]> {
  if (customerIds.length === 0) return [];
  const { rows } = await sql<CustomerSummary>`
    select * from customer_transparency where customer_id = any(${sqlArray(customerIds, 'uuid')})
    order by last_seen desc nulls last, customer_id`.execute(db);
  return rows;
}

async function countRejected(db: Kysely<Database>, hashes: readonly string[]): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::integer as n from rejected_events where identity_hashes && ${sqlArray(hashes, 'text')}`.execute(db);
  return rows[0]!.n;
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
