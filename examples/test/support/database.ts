import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database } from '@tally/collector';

/** The engine the examples' database tests run on: real Postgres when TALLY_TEST_DATABASE_URL is set, else PGlite. */
export const testEngine: 'postgres' | 'pglite' = process.env.TALLY_TEST_DATABASE_URL ? 'postgres' : 'pglite';

/** A fresh, migrated database for one test file, dropped again by `close()` on Postgres. */
export async function createTestDatabase(): Promise<Database> {
  const serverUrl = process.env.TALLY_TEST_DATABASE_URL;
  if (!serverUrl) return createDatabase({ dataDir: 'memory://' });
  const name = `tally_examples_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await createDatabase({ url: url.toString(), poolSize: 2 });
  return {
    ...database,
    close: async () => {
      await database.close();
      await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
    },
  };
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
