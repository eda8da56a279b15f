import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema/database.js';
import { lockIdentityGraph } from '../identity/graph-lock.js';
import { locatePerson, sqlArray, type PersonQuery } from './person.js';

export interface ForgetOptions {
  /** How the deletion was asked for, kept in `deletion_log`: 'cli', 'admin_api', … */
  channel: string;
  /** Who asked, if known (an operator's login, not the person forgotten). */
  actor?: string | undefined;
}

/** How many rows forgetting a person deleted, table by table. */
export interface ForgetResult {
  customers: number;
  identities: number;
  events: number;
  merges: number;
  rejectedEvents: number;
}

/**
 * Right to be forgotten: deletes, in one transaction, every customer the query names with
 * all its events, identities (every anonymousId and userId linked to it), traits and the
 * `identity_merges` rows naming it, and every row of `rejected_events` carrying one of their
 * identifiers; then writes one `deletion_log` row saying that a deletion happened, through
 * which channel and how many rows it removed — never whom or what. A visitor who never
 * logged in is forgotten by anonymousId. Returns null, and logs nothing, when Tally holds
 * nothing about the person.
 *
 * @example
 * const result = await forgetPerson(database.db, { email: 'ann@example.com' }, { channel: 'cli', actor: 'ops' });
 */
export async function forgetPerson(db: Kysely<Database>, query: PersonQuery, options: ForgetOptions): Promise<ForgetResult | null> {
  return db.transaction().execute(async (trx) => {
    // Exclusive: no batch may attribute an event to the person while they are being deleted,
    // nor merge them elsewhere; batches arriving later find no identity and start afresh.
    await lockIdentityGraph(trx, 'exclusive');
    const { customerIds, identityHashes } = await locatePerson(trx, query);
    const rejected = await trx.deleteFrom('rejected_events').where(sql<boolean>`identity_hashes && ${sqlArray(identityHashes, 'text')}`).executeTakeFirst();
    const result: ForgetResult = { customers: 0, identities: 0, events: 0, merges: 0, rejectedEvents: Number(rejected.numDeletedRows) };
    if (customerIds.length > 0) {
      const events = await trx.deleteFrom('events').where('customer_id', 'in', customerIds).executeTakeFirst();
      const identities = await trx.deleteFrom('identities').where('customer_id', 'in', customerIds).executeTakeFirst();
      const merges = await trx
        .deleteFrom('identity_merges')
        .where((eb) => eb.or([eb('from_customer_id', 'in', customerIds), eb('into_customer_id', 'in', customerIds)]))
        .executeTakeFirst();
      const customers = await trx.deleteFrom('customers').where('id', 'in', customerIds).executeTakeFirst();
      result.events = Number(events.numDeletedRows);
      result.identities = Number(identities.numDeletedRows);
      result.merges = Number(merges.numDeletedRows);
      result.customers = Number(customers.numDeletedRows);
    }
    if (result.customers === 0 && result.rejectedEvents === 0) return null;
    await trx
      .insertInto('deletion_log')
      .values({
        channel: options.channel,
        actor: options.actor ?? null,
        customers_deleted: result.customers,
        identities_deleted: result.identities,
        events_deleted: result.events,
        merges_deleted: result.merges,
        rejected_deleted: result.rejectedEvents,
      })
      .execute();
    return result;
  });
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
