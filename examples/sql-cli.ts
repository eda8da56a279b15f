/**
 * `pnpm sql`: SQL against Tally's database with nothing to install.
 *
 *   pnpm sql                              an interactive prompt (end statements with ;)
 *   pnpm sql "select count(*) from events"
 *   pnpm sql examples/sql/checkout-funnel.sql
 *
 * With DATABASE_URL it talks to that Postgres. Otherwise it uses the embedded database in
 * ./.tally-data (TALLY_DATA_DIR): through the running `pnpm start` when there is one (the
 * embedded engine lives in one process; its endpoint runs one read-only statement at a
 * time), else by opening the folder itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { ConfigError, createDatabase, loadDatabaseLocation, type Database } from '@tally/collector';
import { runningStart, type SqlAnswer } from './sql-endpoint.js';
import { formatTable } from './format-table.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
let location;
try {
  location = loadDatabaseLocation({ ...process.env, TALLY_DATA_DIR: process.env.TALLY_DATA_DIR || `${repo}.tally-data` });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`sql: bad configuration: ${error.message}`);
  process.exit(1);
}
const { databaseUrl, dataDir } = location;
// pnpm runs scripts in the package folder; files are named from where the user typed.
const callerDir = process.env.INIT_CWD ?? process.cwd();

type Runner = { run(text: string): Promise<SqlAnswer>; close(): Promise<void>; describe: string };

async function openRunner(): Promise<Runner> {
  if (databaseUrl) return fromDatabase(await createDatabase({ url: databaseUrl, poolSize: 1, migrate: false }), 'Postgres at DATABASE_URL');
  const running = runningStart(dataDir);
  if (running) {
    return {
      describe: `the running collector's embedded database (${dataDir}), read-only`,
      async run(text) {
        const response = await fetch(running.url, { method: 'POST', body: text, headers: { authorization: `Bearer ${running.token}` } });
        const answer = (await response.json()) as SqlAnswer & { error?: string };
        if (!response.ok) throw new Error(answer.error ?? `HTTP ${response.status}`);
        return answer;
      },
      close: async () => {},
    };
  }
  if (!existsSync(dataDir)) {
    console.error(`sql: no database yet in ${dataDir}; run \`pnpm start\` first, or set DATABASE_URL.`);
    process.exit(1);
  }
  return fromDatabase(await createDatabase({ dataDir }), `the embedded database in ${dataDir}`);
}

function fromDatabase(database: Database, describe: string): Runner {
  return {
    describe,
    async run(text) {
      const result = await sql.raw<Record<string, unknown>>(text).execute(database.db);
      return { rows: result.rows, ...(result.numAffectedRows !== undefined ? { affected: Number(result.numAffectedRows) } : {}) };
    },
    close: () => database.close(),
  };
}

function print(answer: SqlAnswer) {
  if (answer.rows.length > 0) console.log(formatTable(answer.rows));
  else if (answer.affected) console.log(`(${answer.affected} rows affected)`);
  else console.log('(0 rows)');
}

const argument = process.argv.slice(2).join(' ').trim();
const runner = await openRunner();
try {
  if (argument) {
    const asFile = resolve(callerDir, argument);
    const text = argument.endsWith('.sql') && existsSync(asFile) ? readFileSync(asFile, 'utf8') : argument;
    try {
      print(await runner.run(text));
    } catch (error) {
      console.error(`sql: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  } else {
    console.log(`Connected to ${runner.describe}. End a statement with ";", quit with \\q or Ctrl-D.`);
    console.log('Tables and views: events, sessions, events_with_session, customer_profiles, orders, order_items; funnel(...).');
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    let buffer = '';
    prompt.setPrompt('tally=> ');
    prompt.prompt();
    for await (const line of prompt) {
      if (buffer === '' && /^\s*(\\q|quit|exit)\s*$/.test(line)) break;
      buffer += `${line}\n`;
      if (line.trim().endsWith(';')) {
        try {
          print(await runner.run(buffer));
        } catch (error) {
          console.error(`ERROR: ${error instanceof Error ? error.message : String(error)}`);
        }
        buffer = '';
      }
      prompt.setPrompt(buffer ? 'tally-> ' : 'tally=> ');
      prompt.prompt();
    }
    prompt.close();
  }
} finally {
  await runner.close();
}
