import type { Kysely } from 'kysely';
import { lockIdentityGraph } from '../db/identity-store.js';
import { deletePersonRows, logDeletion, type DeletedRows } from '../db/people-store.js';
import type { Database } from '../db/schema/database.js';
import { locatePerson, type PersonQuery } from './person.js';

export interface ForgetOptions {
  /** How the deletion was asked for, kept in `deletion_log`: 'cli', 'admin_api', … */
  channel: string;
  /** Who asked, if known (an operator's login, not the person forgotten). */
  actor?: string | undefined;
}

/** How many rows forgetting a person deleted, table by table. */
export type ForgetResult = DeletedRows;

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
    const result = await deletePersonRows(trx, customerIds, identityHashes);
    if (result.customers === 0 && result.rejectedEvents === 0) return null;
    await logDeletion(trx, result, { channel: options.channel, actor: options.actor ?? null });
    return result;
  });
}

export { deletionLog } from '../db/people-store.js';
