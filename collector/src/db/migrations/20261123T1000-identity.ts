import type { Kysely } from 'kysely';

// The identity graph: customers, identities, identity_merges (filled by the identity module's migration).
export async function up(_db: Kysely<any>): Promise<void> {}

export async function down(_db: Kysely<any>): Promise<void> {}
