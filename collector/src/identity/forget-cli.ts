import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadDatabaseLocation } from '../config.js';
import { createDatabase } from '../db/database.js';
import { forgetCustomer } from './forget.js';

// `pnpm --filter @tally/collector forget <userId> [--source <sourceId>]`: deletes a customer's
// events, identities and traits from the database named by DATABASE_URL (else the embedded
// one in TALLY_DATA_DIR, default .tally-data), and logs that a deletion happened.
const USAGE = 'usage: forget <userId> [--source <sourceId>]';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { source: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const [userId, ...rest] = parsed.positionals;
  if (userId === undefined || userId.trim() === '' || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const { databaseUrl: url, dataDir } = loadDatabaseLocation(process.env);
  const database = await createDatabase(url ? { url, poolSize: 1 } : { dataDir });
  try {
    const result = await forgetCustomer(database.db, {
      userId,
      sourceId: parsed.values.source,
      channel: 'cli',
      actor: safeLogin(),
    });
    const where = url ? 'the Postgres database in DATABASE_URL' : `the embedded database in ${dataDir}`;
    if (result === null) {
      console.error(`no customer with userId ${JSON.stringify(userId)}${parsed.values.source ? ` on source ${parsed.values.source}` : ''} in ${where}; nothing deleted`);
      return 1;
    }
    console.log(
      `forgot userId ${JSON.stringify(userId)} in ${where}: deleted ${result.customers} customer(s), ${result.events} event(s), ` +
        `${result.identities} identit${result.identities === 1 ? 'y' : 'ies'}, ${result.merges} merge record(s); the deletion is logged in deletion_log`,
    );
    return 0;
  } finally {
    await database.close();
  }
}

function safeLogin(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`forget failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
