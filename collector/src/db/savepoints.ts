import { sql, type Kysely } from 'kysely';
import type { Database } from './schema/database.js';

/**
 * Savepoints inside a write transaction, so that one statement's failure can be undone
 * without losing the rest of the transaction.
 *
 * @example
 * await savepoint(trx, 'tally_event');
 * try { await work(); await releaseSavepoint(trx, 'tally_event'); }
 * catch { await rollbackToSavepoint(trx, 'tally_event'); }
 */
export async function savepoint(trx: Kysely<Database>, name: string): Promise<void> {
  await sql`savepoint ${sql.id(name)}`.execute(trx);
}

/** Keeps what was done since `savepoint(trx, name)`. */
export async function releaseSavepoint(trx: Kysely<Database>, name: string): Promise<void> {
  await sql`release savepoint ${sql.id(name)}`.execute(trx);
}

/** Undoes what was done since `savepoint(trx, name)`; the transaction goes on. */
export async function rollbackToSavepoint(trx: Kysely<Database>, name: string): Promise<void> {
  await sql`rollback to savepoint ${sql.id(name)}`.execute(trx);
}
