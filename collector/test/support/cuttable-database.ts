import { sql, type KyselyPlugin } from 'kysely';
import { createDatabase, type Database } from '../../src/db/database.js';
import { startTcpProxy } from './tcp-proxy.js';
import type { TestDatabase } from './test-database.js';

export interface CuttableDatabase {
  /** The collector's view of the database: its connection can be cut. */
  database: Database;
  /** Makes the database unreachable for `database`. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The test database behind a connection a test can cut. On Postgres the connection runs
 * through a TCP proxy that is really cut (sockets destroyed, new connections refused); the
 * embedded engine has no network, so there every statement fails while cut, as a dropped
 * connection would make it fail.
 *
 * @example
 * const link = await cuttableDatabase(testDatabase);
 * await link.cut();
 */
export async function cuttableDatabase(target: TestDatabase): Promise<CuttableDatabase> {
  if (target.url) {
    const url = new URL(target.url);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const database = await createDatabase({ url: url.toString(), poolSize: 4, migrate: false });
    return {
      database,
      cut: async () => proxy.cut(),
      restore: async () => proxy.restore(),
      close: async () => {
        await database.close();
        await proxy.close();
      },
    };
  }
  let cut = false;
  const severed: KyselyPlugin = {
    transformQuery(args) {
      if (cut) throw new Error('Connection terminated unexpectedly');
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  const db = target.db.withPlugin(severed);
  const database: Database = {
    db,
    engine: target.engine,
    ping: async () => {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {},
  };
  return {
    database,
    cut: async () => {
      cut = true;
    },
    restore: async () => {
      cut = false;
    },
    close: async () => {},
  };
}
