import type { Kysely } from 'kysely';

// What marketers query: sessions, customer_profiles, funnel().
export async function up(_db: Kysely<any>): Promise<void> {}

export async function down(_db: Kysely<any>): Promise<void> {}
