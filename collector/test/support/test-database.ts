import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database } from '../../src/db/database.js';

/**
 * The engine database tests run on: real Postgres when TALLY_TEST_DATABASE_URL is set
 * (CI sets it), else the embedded PGlite engine. No test is skipped for either.
 */
export const testEngine: 'postgres' | 'pglite' = process.env.TALLY_TEST_DATABASE_URL ? 'postgres' : 'pglite';

export interface TestDatabase extends Database {
  /** The connection string of this test's own database (real Postgres only). */
  readonly url: string | undefined;
}

/**
 * A fresh, migrated database (unless `migrate: false`) for one test file: on Postgres a new database created on the
 * server named by TALLY_TEST_DATABASE_URL and dropped by `close()`; on PGlite an in-memory one.
 *
 * @example
 * let database: TestDatabase;
 * beforeAll(async () => { database = await createTestDatabase(); });
 * afterAll(() => database.close());
 */
export async function createTestDatabase(options: { poolSize?: number; migrate?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.TALLY_TEST_DATABASE_URL;
  if (!serverUrl) {
    const database = await createDatabase({ dataDir: 'memory://', migrate: options.migrate });
    return { ...database, url: undefined };
  }
  const name = `tally_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = withDatabase(serverUrl, name);
  const database = await createDatabase({ url, poolSize: options.poolSize ?? 4, migrate: options.migrate });
  return {
    ...database,
    url,
    close: async () => {
      await database.close();
      await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

/** The same server URL with another database name. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminQuery(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
