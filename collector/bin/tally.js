#!/usr/bin/env node
// The `tally` command: `tally import customers.csv …` and `tally import review …` (see src/import/command.ts).
// A file in the repository, so that installing links it before `dist/` is built.
if (process.argv[2] !== 'import') {
  console.error('usage: tally import <customers.csv | records.ndjson | -> [options]   (tally import --help)');
  process.exit(2);
}
await import('../dist/import/cli.js');
