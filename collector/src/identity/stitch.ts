import type { Kysely } from 'kysely';
import { lockAndReadIdentities, type FoundIdentity } from '../db/identity-store.js';
import type { Database } from '../db/schema/database.js';
import {
  identitiesOfBatch,
  identityKey,
  isEffectiveAlias,
  planStitch,
  type CustomerPatch,
  type IdentityWrite,
  type MergeRecord,
  type StitchInput,
  type StitchPlan,
  type StoredIdentity,
} from './stitch-plan.js';

export type { SourceKind, StitchInput } from './stitch-plan.js';

// Locking, and why advisory locks rather than row locks:
//
// The rows that concurrent write transactions fight over are mostly rows that do not exist
// yet: two requests identifying the same new anonymousId would both find no identity, both
// create a customer, and one would lose. `SELECT … FOR UPDATE` cannot lock a row that is not
// there, so every transaction first takes transaction-scoped advisory locks covering every
// identity it will read or write (kind, value), existing or not, and then reads the graph. A
// second batch touching one of those identities waits until the first commits and then reads
// its result: the graph ends as if the batches had run one by one.
//
// A batch locks each of its identities (kind, value) with a lock of its own, in key order so
// that two batches can never deadlock; two batches wait for each other only over an identity
// they share. Advisory locks live in Postgres's shared lock table (about
// max_locks_per_transaction × max_connections entries for the whole server): one lock per
// identity let a few batches of thousands of aliases exhaust it (`out of shared memory`), so a
// batch of more than `IDENTITY_LOCKS_PER_BATCH` identities takes the graph lock (below)
// exclusively instead, and a transaction holds at most 2 × IDENTITY_LOCKS_PER_BATCH + 1
// advisory locks. (Before the identity-locks migration identities shared 512 slots, and two
// batches whose identities merely shared a slot waited for each other; the slots are still
// taken, shared, so that collectors of both versions exclude each other during an upgrade.)
//
// An identify only ever merges away an anonymous customer, which has a single identity (its
// anonymousId, locked above), so nobody else can be attributing events to it meanwhile.
// alias() may merge away a known customer whose other identities this batch has not locked;
// such batches take the graph lock exclusively, all others take it shared, so a merge of two
// known customers waits for the batches in flight and they wait for it. alias is rare; the
// cost is paid only by batches that contain one.
//
// The locks and the read are one round trip, `tally_lock_and_read_identities` (see the
// identity-locks migration), whose read runs with a snapshot taken after the locks were granted.
// A batch of visitors already known then writes no identity rows at all: customer and
// identity rows are written only when they change (`last_seen_at` in steps of 30 s).
//
// Stitching only decides: it returns what to write as plain data (`StitchWrites`), and the
// one writer of a flush (db/flush-writer.ts) writes it with the events and refused events.

/**
 * What stitching a batch asks the writer to do, as plain data: the customer of every event,
 * and the rows to write. Without merges (nearly every batch) only the customer and identity
 * rows that change are listed, and the writer sends them with the events insert; with
 * merges, every customer and identity the batch touched, and the writer moves the merged
 * customers' identities and events (docs/design.md §3).
 */
export interface StitchWrites {
  /** The customer of each input event, in input order (null: no usable id). */
  customerIds: (string | null)[];
  /** Customer rows to upsert, in id order (traits merged per key by the writer). */
  customers: CustomerPatch[];
  /** Identity rows to upsert, pointing at their customer after the batch. */
  identities: IdentityWrite[];
  /** Stored customers merged away, each with the customer it ends in (their traits are folded into its patch by the writer). */
  mergedAway: { from_customer_id: string; into_customer_id: string }[];
  /** Rows for `identity_merges`. */
  merges: MergeRecord[];
}

/** Stitching a batch without usable ids: nothing to write. */
export function noStitchWrites(events: readonly unknown[]): StitchWrites {
  return { customerIds: events.map(() => null), customers: [], identities: [], mergedAway: [], merges: [] };
}

/**
 * Resolves the customer of every event, inside the write transaction that will store them:
 * locks and reads the batch's identities (one round trip), plans the batch in memory
 * (`planStitch`: new customers and identities, anonymousIds linked to userIds, anonymous
 * customers merged into the user's, known customers merged on a server source's alias(),
 * identify traits merged, every merge recorded) and returns what to write. Placeholder ids
 * ('anonymous', 'null', '0', …) count as absent; an event left with no usable id gets `null`.
 *
 * @example
 * await database.db.transaction().execute(async (trx) => {
 *   const stitch = await stitchBatch(trx, inputs);
 *   await writeFlush(trx, { stitch, events: rows.map((row, i) => ({ ...row, customer_id: stitch.customerIds[i] ?? null })), rejected: [] });
 * });
 */
export async function stitchBatch(trx: Kysely<Database>, events: readonly StitchInput[]): Promise<StitchWrites> {
  const refs = identitiesOfBatch(events);
  if (refs.length === 0) return noStitchWrites(events);
  const found = await lockAndReadIdentities(trx, refs, events.some(isEffectiveAlias));
  const stored: StoredIdentity[] = found.map((row) => ({
    kind: row.o_kind,
    value: row.o_value,
    customer_id: row.o_customer_id,
    identified: row.o_identified_at !== null,
  }));
  const plan = planStitch(events, stored);
  const rows = plan.mergedAway.length === 0 ? changedRows(plan, found) : { customers: [...plan.customers.values()], identities: plan.identities };
  return { customerIds: plan.customerIds, ...rows, mergedAway: plan.mergedAway, merges: plan.merges };
}

/**
 * How far behind the newest event `last_seen_at` may lag. A visitor sends an event every
 * few seconds; rewriting their customer and identity rows for each batch would cost a write
 * and a row lock per batch for a figure nobody reads to the second, so it moves only once
 * the batch's events are at least this much newer than the stored value.
 */
export const LAST_SEEN_RESOLUTION_MS = 30_000;

/**
 * The customer and identity rows of a plan without merges that the batch actually changes:
 * new ones, identities moving to another customer, customers getting traits or becoming
 * identified, earlier first-seen times (late events), and last-seen times moving by at
 * least `LAST_SEEN_RESOLUTION_MS`.
 */
function changedRows(plan: StitchPlan, found: readonly FoundIdentity[]): { customers: CustomerPatch[]; identities: IdentityWrite[] } {
  const storedCustomers = new Map<string, FoundIdentity>();
  const storedIdentities = new Map<string, FoundIdentity>();
  for (const row of found) {
    storedCustomers.set(row.o_customer_id, row);
    storedIdentities.set(identityKey({ kind: row.o_kind, value: row.o_value }), row);
  }
  const customers = [...plan.customers.values()].filter((patch) => {
    const stored = storedCustomers.get(patch.id);
    if (stored === undefined) return true;
    if (Object.keys(patch.traits).length > 0) return true;
    if (patch.identified_at !== null && (stored.o_identified_at === null || Date.parse(patch.identified_at) < stored.o_identified_at.getTime())) return true;
    return seenMoved(patch, stored.o_customer_first_seen_at, stored.o_customer_last_seen_at);
  });
  const identities = plan.identities.filter((identity) => {
    const stored = storedIdentities.get(identityKey(identity));
    if (stored === undefined || stored.o_customer_id !== identity.customer_id) return true;
    return seenMoved(identity, stored.o_identity_first_seen_at, stored.o_identity_last_seen_at);
  });
  return { customers, identities };
}

function seenMoved(patch: { first_seen_at: string; last_seen_at: string }, firstSeen: Date, lastSeen: Date): boolean {
  return Date.parse(patch.first_seen_at) < firstSeen.getTime() || Date.parse(patch.last_seen_at) - lastSeen.getTime() >= LAST_SEEN_RESOLUTION_MS;
}
