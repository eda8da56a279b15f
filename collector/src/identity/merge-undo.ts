import type { Kysely } from 'kysely';
import { lockCustomers, lockIdentityGraph, type StoredCustomer } from '../db/identity-store.js';
import { laterMergeFrom, lockMerge, mergesOf, recordUndo, restoreMergedCustomer, rewriteCustomer, type MergeEntry } from '../db/merge-store.js';
import type { Database } from '../db/schema/database.js';
import type { MergedCustomerRow } from '../db/schema/identity.js';
import { locatePerson, type PersonQuery } from '../privacy/person.js';
import { setOwn } from './stitch-plan.js';

export type { MergeEntry } from '../db/merge-store.js';

// Undoing a merge (docs/design.md §3). A merge of a stored customer into another is recorded
// in `identity_merges` with the merged customer's row as it was, its survivor's row as it was
// before the merging batch, and the identities and events that moved. An undo, in one
// transaction holding the identity graph lock exclusively (no batch stitches meanwhile):
// - creates the merged customer again with its traits, trait timestamps and sources, first
//   and last seen and identified-at as they were when it was merged;
// - moves back to it the identities and events the merge moved that are still on the survivor;
// - takes back from the survivor each trait whose current value is still the one the merged
//   customer brought (same value, time and source), returning it to the survivor's own value
//   from before the merge or removing it, and likewise its first and last seen and
//   identified-at;
// - records the undo in `identity_merge_undos`.
// What it cannot restore: events forgotten or expired since (they are gone); events stored
// after the merge, which were attributed to the survivor (they stay with it); traits the
// survivor got since (they stay, as does a value the merging batch itself set that lost to
// the merged customer's newer one); seen times of a survivor created by the merging batch.
// It refuses a merge that a later merge or re-link depends on (one that moved something off
// the survivor since, so the merged identities and events may be elsewhere): that one must
// be undone first, and the error names it. It refuses a merge undone already, a re-link
// (it moved no customer), and merges recorded before merges kept what an undo needs.

/** Why a merge cannot be undone; `code` is stable. */
export class MergeUndoError extends Error {
  override name = 'MergeUndoError';
  constructor(
    readonly code: 'unknown_merge' | 'not_reversible' | 'already_undone' | 'later_merge',
    message: string,
    /** For `later_merge`: the merge to undo first. */
    readonly laterMergeId?: number,
  ) {
    super(message);
  }
}

/** What undoing a merge did. */
export interface MergeUndo {
  mergeId: number;
  /** The merged-away customer, created again. */
  restoredCustomerId: string;
  /** The customer it had been merged into. */
  survivorId: string;
  identitiesMoved: number;
  eventsMoved: number;
  undoneAt: Date;
}

/**
 * Undoes merge `mergeId` of `identity_merges` (see above), or throws a `MergeUndoError`
 * saying why it cannot.
 *
 * @example
 * const undo = await undoMerge(database.db, 42, { channel: 'cli', actor: 'ops' });
 */
export async function undoMerge(db: Kysely<Database>, mergeId: number, how: { channel: string; actor?: string | undefined }): Promise<MergeUndo> {
  return db.transaction().execute(async (trx) => {
    await lockIdentityGraph(trx, 'exclusive');
    const merge = await lockMerge(trx, mergeId);
    if (merge === undefined) throw new MergeUndoError('unknown_merge', `there is no merge ${mergeId}; nothing was done`);
    if (merge.undone_at !== null) {
      throw new MergeUndoError('already_undone', `merge ${mergeId} was undone at ${merge.undone_at.toISOString()}; nothing was done`);
    }
    if (merge.reason === 'anonymous_id_relinked') {
      throw new MergeUndoError('not_reversible', `merge ${mergeId} is the re-link of an anonymousId on a shared device: it moved no customer, there is nothing to undo`);
    }
    if (!merge.reversible || merge.merged_customer === null) {
      throw new MergeUndoError('not_reversible', `merge ${mergeId} was recorded before merges kept what an undo needs; it cannot be undone`);
    }
    const later = await laterMergeFrom(trx, mergeId, merge.into_customer_id);
    if (later !== undefined) {
      throw new MergeUndoError(
        'later_merge',
        `merge ${later.id} (${later.reason}, ${later.merged_at.toISOString()}) moved customer ${merge.into_customer_id} on since merge ${mergeId}: undo merge ${later.id} first`,
        later.id,
      );
    }
    const [survivor] = await lockCustomers(trx, [merge.into_customer_id]);
    if (survivor === undefined) throw new MergeUndoError('not_reversible', `customer ${merge.into_customer_id}, merged into by merge ${mergeId}, no longer exists`);
    const moved = await restoreMergedCustomer(trx, mergeId);
    await rewriteCustomer(trx, survivor.id, withoutMergedCustomer(survivor, merge.merged_customer, merge.survivor_before));
    const undoneAt = await recordUndo(trx, { mergeId, channel: how.channel, actor: how.actor ?? null, ...moved });
    return {
      mergeId,
      restoredCustomerId: merge.from_customer_id,
      survivorId: merge.into_customer_id,
      identitiesMoved: moved.identities,
      eventsMoved: moved.events,
      undoneAt,
    };
  });
}

/**
 * The merges and re-links of the customers a person query names (from or into them), oldest
 * first; null when Tally holds no customer for it.
 *
 * @example
 * const merges = await mergesOfPerson(database.db, { userId: 'user-42' });
 */
export async function mergesOfPerson(db: Kysely<Database>, query: PersonQuery): Promise<MergeEntry[] | null> {
  const { customerIds } = await locatePerson(db, query);
  if (customerIds.length === 0) return null;
  return mergesOf(db, customerIds);
}

/**
 * The survivor's row once what the merged customer brought is taken back: each trait whose
 * value, time and source are still the merged customer's goes back to the survivor's value
 * from before the merge (or goes, when it had none), and so do first and last seen and
 * identified-at when they are still the merged customer's.
 *
 * @example
 * withoutMergedCustomer(survivorNow, mergedCustomer, survivorBefore);
 */
export function withoutMergedCustomer(current: StoredCustomer, merged: MergedCustomerRow, before: MergedCustomerRow | null): MergedCustomerRow {
  const result: MergedCustomerRow = {
    traits: { ...current.traits },
    trait_timestamps: { ...current.trait_timestamps },
    trait_sources: { ...current.trait_sources },
    first_seen_at: current.first_seen_at.toISOString(),
    last_seen_at: current.last_seen_at.toISOString(),
    identified_at: current.identified_at?.toISOString() ?? null,
  };
  for (const key of Object.keys(merged.traits)) {
    const brought =
      Object.hasOwn(current.traits, key) &&
      JSON.stringify(current.traits[key]) === JSON.stringify(merged.traits[key]) &&
      sameInstant(current.trait_timestamps[key], merged.trait_timestamps[key]) &&
      JSON.stringify(current.trait_sources[key] ?? null) === JSON.stringify(merged.trait_sources[key] ?? null);
    if (!brought) continue;
    for (const field of ['traits', 'trait_timestamps', 'trait_sources'] as const) {
      if (before !== null && Object.hasOwn(before[field], key)) setOwn(result[field], key, before[field][key]);
      else delete result[field][key];
    }
  }
  if (before !== null) {
    if (sameInstant(result.first_seen_at, merged.first_seen_at)) result.first_seen_at = before.first_seen_at;
    if (sameInstant(result.last_seen_at, merged.last_seen_at)) result.last_seen_at = before.last_seen_at;
    if (sameInstant(result.identified_at, merged.identified_at)) result.identified_at = before.identified_at;
  }
  return result;
}

function sameInstant(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' && Date.parse(a) === Date.parse(b);
}
