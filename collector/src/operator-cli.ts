import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDatabase, type Database } from './db/database.js';
import { parsePersonQuery, PersonQueryError, type PersonQuery } from './privacy/person.js';

// What the operator commands (`privacy`, `identity`, `import`) share.

/**
 * The database an operator's command works on: the Postgres database named by DATABASE_URL,
 * else the embedded one in TALLY_DATA_DIR (default `.tally-data`), relative to where pnpm was
 * run (INIT_CWD), not to this package: from the repository's root that is the `.tally-data`
 * of `pnpm start`. `where` says which, for messages.
 *
 * @example
 * const { database, where } = await openCliDatabase();
 */
export async function openCliDatabase(options: { poolSize?: number } = {}): Promise<{ database: Database; where: string }> {
  const url = process.env.DATABASE_URL?.trim() || undefined;
  const dataDir = resolve(process.env.INIT_CWD ?? process.cwd(), process.env.TALLY_DATA_DIR?.trim() || '.tally-data');
  const where = url ? 'the Postgres database in DATABASE_URL' : `the embedded database in ${dataDir}`;
  const database = await createDatabase(url ? { url, poolSize: options.poolSize ?? 1 } : { dataDir });
  return { database, where };
}

/**
 * Runs a command-line tool's `main` and exits with the status it returns; an unexpected
 * error prints `<name> failed: <message>` and exits with 1.
 *
 * @example
 * runCommandLine('privacy', main);
 */
export function runCommandLine(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

/** The operator's login, recorded with what they did; undefined when the system has none. */
export function operatorLogin(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** The options naming a person, for `parseArgs`. */
const PERSON_FLAGS = {
  'user-id': { type: 'string' },
  'anonymous-id': { type: 'string' },
  email: { type: 'string' },
} as const;

/**
 * Parses an operator command's arguments: its words, and the flags naming a person. Returns
 * the exit status instead when there is nothing more to do: 0 after printing `usage` for
 * `--help`, 2 after printing what is wrong and `usage`.
 *
 * @example
 * const parsed = parseCommandLine(USAGE);
 * if (typeof parsed === 'number') return parsed;
 */
export function parseCommandLine(usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { ...PERSON_FLAGS, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(usage);
    return 0;
  }
  const { help: _help, ...values } = parsed.values;
  return { words: parsed.positionals, values };
}

/**
 * The person named by exactly one of `--user-id`, `--anonymous-id` or `--email`; else prints
 * what is wrong (speaking of the flags) and `usage`, and returns the exit status 2.
 *
 * @example
 * const query = personOfFlags(parsed.values, USAGE);
 * if (typeof query === 'number') return query;
 */
export function personOfFlags(
  values: { 'user-id'?: string | undefined; 'anonymous-id'?: string | undefined; email?: string | undefined },
  usage: string,
): PersonQuery | 2 {
  try {
    return parsePersonQuery({ userId: values['user-id'], anonymousId: values['anonymous-id'], email: values.email });
  } catch (error) {
    if (!(error instanceof PersonQueryError)) throw error;
    console.error(`${error.message.replace('userId', '--user-id').replace('anonymousId', '--anonymous-id').replace('email', '--email')}\n${usage}`);
    return 2;
  }
}

/** A person query as a message shows it: `userId "u-1"`. */
export function describePerson(query: PersonQuery): string {
  const [field, value] = Object.entries(query)[0]!;
  return `${field} ${JSON.stringify(value)}`;
}
