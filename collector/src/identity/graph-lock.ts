// The advisory lock (two-int form, a space apart from the per-identity bigint locks) that
// operations changing customers other than through their locked identities hold exclusively:
// alias() merging two known customers, forgetting a customer, and undoing a merge. Ordinary
// stitching holds it shared, so these wait for the batches in flight and new batches wait for them.
export const GRAPH_LOCK = [0x7a11, 1] as const;

/**
 * Lock slots (two-int form, first key `key`): each identity hashes onto one of `count`.
 * Stitching takes its identities' slots shared (collectors before the migration
 * 20261202T1400-identity-locks took them exclusively, and still exclude the new ones through
 * them during an upgrade), then one exclusive lock per identity (see stitch.ts).
 */
export const IDENTITY_LOCK_SLOTS = { key: 0x7a12, count: 512 } as const;


/**
 * A batch with more identities than this takes the graph lock exclusively instead of one lock
 * per identity, so that a transaction holds at most 2 × this + 1 advisory locks however large
 * its batch: one lock per identity for batches of thousands of aliases ran Postgres's shared
 * lock table (64 × (max_connections + …) ≈ 6,400 entries) out of memory. Browser traffic
 * stays far below it (about 10–40 identities per write transaction in the benchmark).
 */
export const IDENTITY_LOCKS_PER_BATCH = 256;
