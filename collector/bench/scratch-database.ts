import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database } from '../src/db/database.js';

/** The Postgres server benchmarks create their databases on (`BENCH_DATABASE_URL`). */
export const BENCH_SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Runs `work` on a fresh, migrated database of its own on the benchmark server, and drops
 * that database afterwards, whatever happens.
 *
 * @example
 * await withScratchDatabase('poison', 2, async (database) => { … });
 */
export async function withScratchDatabase(label: string, poolSize: number, work: (database: Database) => Promise<void>): Promise<void> {
  const name = `tally_bench_${label}_${randomBytes(4).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(BENCH_SERVER);
  url.pathname = `/${name}`;
  const database = await createDatabase({ url: url.toString(), poolSize });
  try {
    await work(database);
  } finally {
    await database.close();
    await admin(`drop database if exists ${name} with (force)`);
  }
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_SERVER });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
