import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import type { LoadReport } from './load-generator.js';

/**
 * A fresh database on the real Postgres server named by TALLY_TEST_DATABASE_URL. The fault
 * suites cut connections, kill processes and measure memory: none of that means anything on
 * the embedded engine, so without a server they stop here and say what to set.
 */
export async function createFaultDatabase(): Promise<TestDatabase & { url: string }> {
  if (!process.env.TALLY_TEST_DATABASE_URL) {
    throw new Error(
      'The fault suites need a real PostgreSQL server: set TALLY_TEST_DATABASE_URL, e.g. ' +
        'TALLY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test pnpm test:faults',
    );
  }
  const database = await createTestDatabase({ poolSize: 2 });
  if (!database.url) throw new Error('expected a Postgres test database');
  return database as TestDatabase & { url: string };
}

export interface StoredCheck {
  readonly sent: number;
  /** Distinct generated messageIds found in `events`. */
  readonly stored: number;
  /** Rows beyond the first for a messageId. */
  readonly duplicates: number;
  /** Generated messageIds not in `events`. */
  readonly lost: number;
  /** Of the lost, those the collector had acknowledged: a broken durability promise. */
  readonly lostAcknowledged: number;
  /** Rows in `events` that the generator never sent. */
  readonly foreign: number;
}

/**
 * Compares what the load generator sent (`${prefix}-0` … `${prefix}-${sent-1}`) with the rows
 * of `source` in `events`, counting in SQL so that millions of ids need no memory here.
 */
export async function checkStored(
  database: TestDatabase,
  source: string,
  prefix: string,
  report: Pick<LoadReport, 'generated' | 'ackedAt'>,
): Promise<StoredCheck> {
  const pattern = `^${prefix.replace(/[^A-Za-z0-9]/g, '\\$&')}-([0-9]+)$`;
  const { rows } = await sql<{ rows: number; distinct_ids: number; ours: number }>`
    select count(*)::int8 as rows,
           count(distinct message_id)::int8 as distinct_ids,
           count(distinct message_id) filter (
             where substring(message_id from ${pattern}) is not null
               and substring(message_id from ${pattern})::int8 < ${report.generated}
           )::int8 as ours
    from events where source_id = ${source}
  `.execute(database.db);
  const counts = rows[0] ?? { rows: 0, distinct_ids: 0, ours: 0 };
  const lost = report.generated - Number(counts.ours);
  let lostAcknowledged = 0;
  if (lost > 0) {
    const missing = await sql<{ n: number }>`
      select n::int8 as n from generate_series(0, ${report.generated - 1}::int8) as n
      where not exists (
        select 1 from events where source_id = ${source} and message_id = ${prefix} || '-' || n::text
      )
    `.execute(database.db);
    lostAcknowledged = missing.rows.filter((row) => report.ackedAt(Number(row.n))).length;
  }
  return {
    sent: report.generated,
    stored: Number(counts.ours),
    duplicates: Number(counts.rows) - Number(counts.distinct_ids),
    lost,
    lostAcknowledged,
    foreign: Number(counts.distinct_ids) - Number(counts.ours),
  };
}
