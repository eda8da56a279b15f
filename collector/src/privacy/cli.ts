import { describePerson, openCliDatabase, operatorLogin, parseCommandLine, personOfFlags, runCommandLine } from '../operator-cli.js';
import { exportPerson } from './export.js';
import { forgetPerson } from './forget.js';
import { findPerson, type PersonQuery } from './person.js';

// `pnpm --filter @tally/collector privacy find|export|forget --user-id <id> | --anonymous-id <id> | --email <address>`
// on the database named by DATABASE_URL (else the embedded one in TALLY_DATA_DIR, default
// .tally-data where pnpm was run). find and export print JSON to stdout; forget deletes and logs the counts.
const USAGE = `usage: privacy <find|export|forget> (--user-id <userId> | --anonymous-id <anonymousId> | --email <address>)
  find     what Tally holds about the person and on what consent (JSON)
  export   everything held about the person, as one JSON document
  forget   delete the person everywhere; deletion_log keeps the counts only
exit status: 0 done, 1 nobody found, 2 bad arguments`;

const COMMANDS = ['find', 'export', 'forget'] as const;
type Command = (typeof COMMANDS)[number];

async function main(): Promise<number> {
  const parsed = parseCommandLine(USAGE);
  if (typeof parsed === 'number') return parsed;
  const [command, ...rest] = parsed.words;
  if (!COMMANDS.includes(command as Command) || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const query = personOfFlags(parsed.values, USAGE);
  if (typeof query === 'number') return query;

  const { database, where } = await openCliDatabase();
  try {
    const result = await run(command as Command, database.db, query);
    if (result === null) {
      console.error(`nobody with ${describePerson(query)} in ${where}; nothing ${command === 'forget' ? 'deleted' : 'found'}`);
      return 1;
    }
    if (command === 'forget') {
      const r = result as Awaited<ReturnType<typeof forgetPerson>> & object;
      console.log(
        `forgot ${describePerson(query)} in ${where}: deleted ${r.customers} customer(s), ${r.events} event(s), ${r.identities} identit${r.identities === 1 ? 'y' : 'ies'}, ` +
          `${r.merges} merge record(s), ${r.rejectedEvents} rejected event(s); the deletion is logged in deletion_log`,
      );
    } else {
      console.log(JSON.stringify(result, null, 2));
    }
    return 0;
  } finally {
    await database.close();
  }
}

function run(command: Command, db: Parameters<typeof findPerson>[0], query: PersonQuery) {
  if (command === 'find') return findPerson(db, query);
  if (command === 'export') return exportPerson(db, query);
  return forgetPerson(db, query, { channel: 'cli', actor: operatorLogin() });
}

runCommandLine('privacy', main);
