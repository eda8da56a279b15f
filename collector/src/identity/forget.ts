import type { Kysely } from 'kysely';
import type { Database } from '../db/schema/database.js';
import { lockIdentityGraph } from './graph-lock.js';

export interface ForgetRequest {
  /** The userId whose customer is to be forgotten. */
  userId: string;
  /** Only the customer of this source; by default the userId's customers on every source. */
  sourceId?: string | undefined;
  /** How the deletion was asked for, kept in `deletion_log`: 'cli', 'admin_api', … */
  channel: string;
  /** Who asked, if known (an operator's login, not the person forgotten). */
  actor?: string | undefined;
}

export interface ForgetResult {
  customers: number;
  identities: number;
  events: number;
  merges: number;
}

/**
 * Right to be forgotten: deletes, in one transaction, every customer the userId points at,
 * with all its events, identities (every anonymousId linked to it too), traits and the
 * `identity_merges` rows naming it, and writes one `deletion_log` row saying that a deletion
 * happened, through which channel and how many rows it removed — never whom or what.
 * Returns null, and logs nothing, when the userId is unknown.
 *
 * @example
 * const result = await forgetCustomer(database.db, { userId: 'user-42', channel: 'cli' });
 */
export async function forgetCustomer(db: Kysely<Database>, request: ForgetRequest): Promise<ForgetResult | null> {
  return db.transaction().execute(async (trx) => {
    // Exclusive: no batch may attribute an event to the customer while it is being deleted,
    // nor merge it elsewhere; batches arriving later find no identity and start afresh.
    await lockIdentityGraph(trx, 'exclusive');
    let query = trx.selectFrom('identities').select('customer_id').distinct().where('kind', '=', 'user').where('value', '=', request.userId);
    if (request.sourceId !== undefined) query = query.where('source_id', '=', request.sourceId);
    const customerIds = (await query.execute()).map((row) => row.customer_id);
    if (customerIds.length === 0) return null;

    const events = await trx.deleteFrom('events').where('customer_id', 'in', customerIds).executeTakeFirst();
    const identities = await trx.deleteFrom('identities').where('customer_id', 'in', customerIds).executeTakeFirst();
    const merges = await trx
      .deleteFrom('identity_merges')
      .where((eb) => eb.or([eb('from_customer_id', 'in', customerIds), eb('into_customer_id', 'in', customerIds)]))
      .executeTakeFirst();
    const customers = await trx.deleteFrom('customers').where('id', 'in', customerIds).executeTakeFirst();
    const result: ForgetResult = {
      customers: Number(customers.numDeletedRows),
      identities: Number(identities.numDeletedRows),
      events: Number(events.numDeletedRows),
      merges: Number(merges.numDeletedRows),
    };
    await trx
      .insertInto('deletion_log')
      .values({
        channel: request.channel,
        actor: request.actor ?? null,
        customers_deleted: result.customers,
        identities_deleted: result.identities,
        events_deleted: result.events,
        merges_deleted: result.merges,
      })
      .execute();
    return result;
  });
}

/** Deletions so far, newest first (for operators; holds no personal data). */
export async function deletionLog(db: Kysely<Database>, limit = 100) {
  return db.selectFrom('deletion_log').selectAll().orderBy('id', 'desc').limit(limit).execute();
}

