import { openCliDatabase, operatorLogin, runCommandLine } from '../operator-cli.js';
import { importCommand } from './command.js';

// `pnpm --filter @tally/collector run import customers.csv [--dry-run] [--threshold 0.9] [--country GB]`
// (`run`: `pnpm import` is pnpm's own command) or `tally import …`, and `… import review
// list|accept <id>|reject <id>`, on the database named by DATABASE_URL (else the embedded one in TALLY_DATA_DIR, default .tally-data where
// pnpm was run). See `command.ts` for the usage.
async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // `tally import …`: the word `import` itself is the command's name.
  if (argv[0] === 'import') argv.shift();
  const cwd = process.env.INIT_CWD ?? process.cwd();
  // Two connections: the next chunk is read while the current one is written.
  const { database } = await openCliDatabase({ poolSize: 2 });
  try {
    return await importCommand(argv, {
      db: database.db,
      env: process.env,
      cwd,
      stdout: (text) => console.log(text),
      stderr: (text) => console.error(text),
      actor: operatorLogin(),
    });
  } finally {
    await database.close();
  }
}

runCommandLine('import', main);
