import type { Kysely } from 'kysely';
import { countRejected, customerSummaries, locateCustomers, type CustomerSummary, type PersonKey, type PersonLocation } from '../db/people-store.js';
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

export type { CustomerSummary, PersonLocation } from '../db/people-store.js';

/**
 * Where a person's data is: the customers the query names (by identity, workspace-wide; by
 * e-mail, the customers whose `email` trait matches once both are trimmed and lower-cased)
 * and the identity hashes under which their rows of `rejected_events` are found.
 *
 * @example
 * const { customerIds, identityHashes } = await locatePerson(trx, { anonymousId: 'a-1' });
 */
export function locatePerson(db: Kysely<Database>, query: PersonQuery): Promise<PersonLocation> {
  return locateCustomers(db, personKey(query));
}

/**
 * How a request's identifier is looked up: a userId or anonymousId as an identity of the
 * workspace, an e-mail by the `email` trait.
 *
 * @example
 * personKey({ userId: 'u-1' }); // { kind: 'user', value: 'u-1' }
 */
export function personKey(query: PersonQuery): PersonKey {
  if ('userId' in query) return { kind: 'user', value: query.userId };
  if ('anonymousId' in query) return { kind: 'anonymous', value: query.anonymousId };
  return { kind: 'email', value: query.email };
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
