import { sql, type Kysely } from 'kysely';

// The advisory lock (two-int form, a space apart from the per-identity bigint locks) that
// operations changing customers other than through their locked identities hold exclusively:
// alias() merging two known customers, and forgetting a customer. Ordinary stitching holds it
// shared, so these wait for the batches in flight and new batches wait for them.
export const GRAPH_LOCK = [0x7a11, 1] as const;

/** Takes the identity graph lock until the end of the transaction. */
export async function lockIdentityGraph(trx: Kysely<any>, mode: 'shared' | 'exclusive'): Promise<void> {
  if (mode === 'exclusive') await sql`select pg_advisory_xact_lock(${GRAPH_LOCK[0]}, ${GRAPH_LOCK[1]})`.execute(trx);
  else await sql`select pg_advisory_xact_lock_shared(${GRAPH_LOCK[0]}, ${GRAPH_LOCK[1]})`.execute(trx);
}
