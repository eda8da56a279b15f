import { sql, type Kysely } from 'kysely';
import { createDatabase, type Database } from '../db/database.js';
import type { Database as Tables } from '../db/schema/database.js';

/** The role every dashboard query runs as (migration `20261202T1300-dashboard`). */
export const DASHBOARD_ROLE = 'tally_dashboard';

/** A query's answer: its columns in order, and its rows. */
export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** Runs the dashboard's reads as the read-only dashboard role, never as the database's owner. */
export interface DashboardReader {
  /** Runs `work` in a read-only transaction as the dashboard role, rolled back after. */
  read<T>(work: (db: Kysely<Tables>) => Promise<T>): Promise<T>;
  /** Runs one SQL statement the same way. */
  query(text: string): Promise<QueryResult>;
  close(): Promise<void>;
}

/** The dashboard's database login may write: it must not start. */
export class DashboardRoleError extends Error {
  override name = 'DashboardRoleError';
}

const STATEMENT_TIMEOUT = '60s';

/**
 * The dashboard's way to the data.
 *
 * - On Postgres, its own small pool on `dashboardUrl`, a login role that is a member of
 *   `tally_dashboard` and nothing more. A role switched to with `SET ROLE` is no boundary
 *   (`set_config('role', …)` inside a query takes the session's user back), so the dashboard
 *   never shares the owner's connections. It refuses to start if that login may insert into
 *   `events`.
 * - On the embedded engine (one session, a superuser's), `set local role tally_dashboard` in a
 *   read-only transaction on the collector's own connection, as `pnpm sql` does; typed SQL
 *   is first checked by `checkStatement` (`db/read-only-statement.ts`), which refuses what
 *   could switch the role back, and the role is checked again before the answer is returned.
 *
 * Every read is `BEGIN READ ONLY … ROLLBACK` with a 60 s statement timeout. PGlite ignores
 * the timeout, and runs each statement on the process's one thread: there, a long dashboard
 * query holds up the whole collector until it ends (collector README, "Dashboard").
 *
 * @example
 * const reader = await createDashboardReader(database, config.dashboard.databaseUrl);
 * const { rows } = await reader.query('select count(*) from events');
 */
export async function createDashboardReader(database: Database, dashboardUrl: string | undefined): Promise<DashboardReader> {
  if (database.engine === 'postgres') {
    if (dashboardUrl === undefined) throw new DashboardRoleError('the dashboard needs its own read-only login on Postgres (TALLY_DASHBOARD_DATABASE_URL)');
    const own = await createDatabase({ url: dashboardUrl, poolSize: 2, migrate: false });
    try {
      const { rows } = await sql<{ who: string; writes: boolean; member: boolean }>`
        select current_user as who, has_table_privilege('events', 'insert') as writes,
               pg_has_role(current_user, ${DASHBOARD_ROLE}, 'usage') as member`.execute(own.db);
      const { who, writes, member } = rows[0]!;
      if (writes || !member) {
        throw new DashboardRoleError(
          `TALLY_DASHBOARD_DATABASE_URL: the role ${who} ${writes ? 'may write to events' : `is not a member of ${DASHBOARD_ROLE}`}; give the dashboard a login that is a member of ${DASHBOARD_ROLE} only`,
        );
      }
    } catch (error) {
      await own.close();
      throw error;
    }
    return readerOver(own.db, false, () => own.close());
  }
  return readerOver(database.db, true, async () => {});
}

function readerOver(db: Kysely<Tables>, switchRole: boolean, close: () => Promise<void>): DashboardReader {
  async function read<T>(work: (db: Kysely<Tables>) => Promise<T>): Promise<T> {
    return db.connection().execute(async (connection) => {
      await sql`begin transaction read only`.execute(connection);
      try {
        if (switchRole) await sql.raw(`set local role ${DASHBOARD_ROLE}`).execute(connection);
        await sql.raw(`set local statement_timeout = '${STATEMENT_TIMEOUT}'`).execute(connection);
        const answer = await work(connection);
        if (switchRole) {
          const { rows } = await sql<{ who: string }>`select current_user as who`.execute(connection);
          if (rows[0]?.who !== DASHBOARD_ROLE) throw new Error(`the query left the ${DASHBOARD_ROLE} role; its answer is withheld`);
        }
        return answer;
      } finally {
        await sql`rollback`.execute(connection);
      }
    });
  }
  return {
    read,
    query: (text) =>
      read(async (connection) => {
        const { rows } = await sql.raw<Record<string, unknown>>(text).execute(connection);
        return { columns: rows[0] ? Object.keys(rows[0]) : [], rows };
      }),
    close,
  };
}
