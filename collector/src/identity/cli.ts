import type { Kysely } from 'kysely';
import type { Database } from '../db/schema/database.js';
import { describePerson, openCliDatabase, operatorLogin, parseCommandLine, personOfFlags, runCommandLine } from '../operator-cli.js';
import { MergeUndoError, mergesOfPerson, undoMerge } from './merge-undo.js';

// `pnpm --filter @tally/collector identity merges --user-id <id> | --anonymous-id <id> | --email <address>`
// `pnpm --filter @tally/collector identity undo-merge <merge id>`
// on the database named by DATABASE_URL (else the embedded one in TALLY_DATA_DIR, default
// .tally-data where pnpm was run).
const USAGE = `usage: identity merges (--user-id <userId> | --anonymous-id <anonymousId> | --email <address>)
       identity undo-merge <merge id>
  merges       the merges and re-links of the person's customers, oldest first (JSON)
  undo-merge   undo a wrong merge: the merged customer, its identities and events come back
exit status: 0 done, 1 nobody found or the merge cannot be undone (the message says why), 2 bad arguments`;

async function main(): Promise<number> {
  const parsed = parseCommandLine(USAGE);
  if (typeof parsed === 'number') return parsed;
  const [command, ...rest] = parsed.words;
  if (command === 'merges' && rest.length === 0) {
    const query = personOfFlags(parsed.values, USAGE);
    if (typeof query === 'number') return query;
    return withDatabase(async (db, where) => {
      const merges = await mergesOfPerson(db, query);
      if (merges === null) {
        console.error(`nobody with ${describePerson(query)} in ${where}`);
        return 1;
      }
      console.log(JSON.stringify(merges, null, 2));
      return 0;
    });
  }
  const flagged = Object.values(parsed.values).some((value) => value !== undefined);
  if (command === 'undo-merge' && rest.length === 1 && !flagged && /^[1-9]\d{0,17}$/.test(rest[0]!)) {
    const id = Number(rest[0]);
    return withDatabase(async (db, where) => {
      try {
        const undo = await undoMerge(db, id, { channel: 'cli', actor: operatorLogin() });
        console.log(
          `undid merge ${id} in ${where}: customer ${undo.restoredCustomerId} is back with ${undo.identitiesMoved} identit${undo.identitiesMoved === 1 ? 'y' : 'ies'} ` +
            `and ${undo.eventsMoved} event(s) taken back from customer ${undo.survivorId}; the undo is recorded in identity_merge_undos`,
        );
        return 0;
      } catch (error) {
        if (!(error instanceof MergeUndoError)) throw error;
        console.error(`cannot undo: ${error.message}`);
        return 1;
      }
    });
  }
  console.error(USAGE);
  return 2;
}

async function withDatabase(work: (db: Kysely<Database>, where: string) => Promise<number>): Promise<number> {
  const { database, where } = await openCliDatabase();
  try {
    return await work(database.db, where);
  } finally {
    await database.close();
  }
}

runCommandLine('identity', main);
