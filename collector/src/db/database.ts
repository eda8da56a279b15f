import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './engines/pglite-driver.js';
import { migrateToLatest } from './migrate.js';
import type { Database as Tables } from './schema/database.js';

export interface DatabaseConfig {
  /** A Postgres connection string; without one, the embedded engine runs in-process. */
  url?: string | undefined;
  /** Where the embedded engine keeps its files; `memory://` keeps nothing. */
  dataDir?: string | undefined;
  /** Connections to Postgres. On two cores, 2–4 is where throughput stops growing. */
  poolSize?: number | undefined;
  /** Run migrations before returning (default true). */
  migrate?: boolean | undefined;
}

export interface Database {
  readonly db: Kysely<Tables>;
  readonly engine: 'postgres' | 'pglite';
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

// int8 (counts, ids) and numeric (sums of money) arrive as numbers on both engines, so that
// code above this module never learns which engine answered.
const INT8 = 20;
const NUMERIC = 1700;
const toNumber = (value: string) => Number(value);
// PGlite reads `0001-01-01 00:00:00+00` as year 2001 (a non-ISO date string given to `Date`);
// as ISO-8601 every year from 1 to 9999 reads back as written, as it does through `pg`.
const TIMESTAMPTZ = 1184;
const toInstant = (value: string) => new Date(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));

/**
 * Opens Tally's database: real Postgres through a `pg` pool when `url` is given, else the
 * embedded PGlite engine in `dataDir`. Migrations run before it returns.
 *
 * @example
 * const database = await createDatabase({ url: process.env.DATABASE_URL });
 * const rows = await database.db.selectFrom('events').selectAll().limit(10).execute();
 */
export async function createDatabase(config: DatabaseConfig = {}): Promise<Database> {
  const database = config.url ? openPostgres(config.url, config.poolSize ?? 4) : await openPGlite(config.dataDir);
  if (config.migrate !== false) {
    try {
      await migrateToLatest(database.db);
    } catch (error) {
      await database.close();
      throw error;
    }
  }
  return database;
}

function openPostgres(url: string, poolSize: number): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 || oid === NUMERIC ? toNumber : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its server (a Postgres restart) emits here; without a listener
  // the process would die. The next query reconnects, and a failed query is answered with 503.
  pool.on('error', () => {});
  // A client can also lose its server while checked out between two statements (inside a
  // transaction); it then emits 'error' with no query to fail, which unhandled would end the
  // process. The pool drops such a client when it is released, and the statement that
  // follows fails, so the error is answered (503) rather than lost.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    engine: 'postgres',
    ping: () => ping(db),
    close: () => db.destroy(),
  };
}

async function openPGlite(dataDir = 'memory://'): Promise<Database> {
  if (!dataDir.includes('://')) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, {
    parsers: { [INT8]: toNumber, [NUMERIC]: toNumber, [TIMESTAMPTZ]: toInstant },
  });
  const db = new Kysely<Tables>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    engine: 'pglite',
    ping: () => ping(db),
    close: () => db.destroy(),
  };
}

async function ping(db: Kysely<Tables>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
