import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { countQueuedRecords, listQueuedRecords, lockAndReadUserIds, lockQueuedRecord, writeImportChunk, type QueuedRecord } from '../db/import-store.js';
import type { Database } from '../db/schema/database.js';
import { buildWrite } from './apply-records.js';
import type { CustomerRecord } from './customer-record.js';
import { importSource } from './import-customers.js';
import type { MatchEvidence } from './match.js';

/** A review decision that cannot be applied as asked; nothing was changed. */
export class ReviewConflictError extends Error {
  override name = 'ReviewConflictError';
}

/** The outcome of a review decision. */
export interface ReviewDecision {
  id: string;
  status: 'accepted' | 'rejected';
  /** The customer the record now belongs to: the candidate (accepted) or a new customer (rejected). */
  customerId: string;
  ordersStored: number;
}

/** Records waiting for review, oldest first, and how many wait in all. */
export async function listReview(db: Kysely<Database>, options: { limit?: number; afterId?: string } = {}): Promise<{ total: number; records: QueuedRecord[] }> {
  const [total, records] = await Promise.all([countQueuedRecords(db), listQueuedRecords(db, { limit: options.limit ?? 100, afterId: options.afterId })]);
  return { total, records };
}

/**
 * Decides a record waiting for review: `accept` merges it into its candidate customer (as an
 * import match at or above the threshold would have), `reject` makes it a customer of its own,
 * kept apart from the candidate. Either way its traits, userId and order are written then, the
 * decision and who made it are kept in `import_records`, and the record's copy there is
 * dropped. Returns null when no record with that id waits (never queued, or decided already).
 * Throws `ReviewConflictError` when the record's userId now belongs to another customer.
 *
 * @example
 * await decideReview(database.db, '42', 'accept', { actor: 'ops' });
 */
export async function decideReview(
  db: Kysely<Database>,
  id: string,
  decision: 'accept' | 'reject',
  options: { actor?: string | undefined; sourceId?: string | undefined; now?: Date | undefined } = {},
): Promise<ReviewDecision | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  return db.transaction().execute(async (trx) => {
    const queued = await lockQueuedRecord(trx, id);
    if (queued === undefined) return null;
    const record = queued.record as unknown as CustomerRecord;
    const userId = record.keys.userId;
    const owners = await lockAndReadUserIds(trx, userId === null ? [] : [userId]);
    const owner = userId === null ? undefined : owners.get(userId);
    const customerId = decision === 'accept' ? queued.candidate_customer_id : randomUUID();
    if (owner !== undefined && owner !== customerId) {
      throw new ReviewConflictError(
        `the record's userId "${userId}" belongs to customer ${owner} since it was queued; import the record again to match it anew`,
      );
    }
    const status = decision === 'accept' ? 'accepted' : 'rejected';
    const write = buildWrite(
      [
        {
          record,
          status,
          customerId,
          isNew: decision === 'reject',
          match: {
            outcome: 'review',
            candidate: queued.candidate_customer_id,
            rule: queued.rule,
            confidence: queued.confidence,
            evidence: queued.evidence as unknown as MatchEvidence,
          },
        },
      ],
      { importId: queued.import_id, source: importSource(options.sourceId ?? 'import'), importedAt: options.now ?? new Date(), decidedBy: options.actor ?? 'unknown' },
    );
    const { eventsStored } = await writeImportChunk(trx, write);
    return { id, status, customerId, ordersStored: eventsStored };
  });
}
