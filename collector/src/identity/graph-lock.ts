// The advisory lock (two-int form, a space apart from the per-identity bigint locks) that
// operations changing customers other than through their locked identities hold exclusively:
// alias() merging two known customers, forgetting a customer, and undoing a merge. Ordinary
// stitching holds it shared, so these wait for the batches in flight and new batches wait for them.
export const GRAPH_LOCK = [0x7a11, 1] as const;

/**
 * The advisory locks (two-int form, first key `key`) that stitching takes for identities:
 * each identity hashes onto one of `count` slots, so a transaction holds at most `count`
 * of them however many identities its batch has (see stitch.ts). 512 keeps even eight
 * transactions of thousands of identities at once well inside Postgres's default shared lock
 * table (64 × (max_connections + …) ≈ 6,400 entries).
 */
export const IDENTITY_LOCK_SLOTS = { key: 0x7a12, count: 512 } as const;

