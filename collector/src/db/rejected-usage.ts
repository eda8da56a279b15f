import { sql, type Kysely } from 'kysely';
import type { Database } from './schema/database.js';

/** What one source made us keep of its refused events on the current UTC day, and what its budget left out. */
export interface RejectedUsage {
  sourceId: string;
  rowsStored: number;
  bytesStored: number;
  rowsOverBudget: number;
}

/**
 * Today's (UTC) `rejected_event_usage`, per source: the rows and bytes of refused events kept
 * and the rows left out because the source's budget was spent. Shared by every collector
 * process writing to the database, so it is read from there rather than counted in memory.
 *
 * @example
 * const usage = await rejectedUsageToday(database.db); // [{ sourceId: 'shop', rowsStored: 10000, bytesStored: 20480000, rowsOverBudget: 2500 }]
 */
export async function rejectedUsageToday(db: Kysely<Database>, now: Date = new Date()): Promise<RejectedUsage[]> {
  const rows = await db
    .selectFrom('rejected_event_usage')
    .select(['source_id', 'rows_stored', 'bytes_stored', 'rows_over_budget'])
    .where('day', '=', sql<Date>`${now.toISOString().slice(0, 10)}::date`)
    .orderBy('source_id')
    .execute();
  return rows.map((row) => ({
    sourceId: row.source_id,
    rowsStored: Number(row.rows_stored),
    bytesStored: Number(row.bytes_stored),
    rowsOverBudget: Number(row.rows_over_budget),
  }));
}
