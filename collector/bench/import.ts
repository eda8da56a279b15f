// How fast customers import: a generated CRM export of 100,000 rows (test/support/customer-file.ts
// at scale 10: messy e-mails, phones in several formats, people twice in the file, orders, a
// few bad rows) is imported with `importCustomers` into a workspace first seeded, by an import
// of their own, with the ~35,000 people the rows match. Prints rows per second and the load
// average. Needs a Postgres server (BENCH_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/postgres); works in a fresh database it drops at the end.
//
//   flock /work/wt/bench.lock pnpm bench:import [--scale 10]
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { importCustomers } from '../src/import/import-customers.js';
import { readCsvRows } from '../src/import/read-rows.js';
import { COLUMNS, csvField, customerFile } from '../test/support/customer-file.js';
import { withScratchDatabase } from './scratch-database.js';

async function main() {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '10' } } });
  const scale = Number(values.scale);
  const file = customerFile(scale);
  const seed = `${COLUMNS.join(',')}\n${file.existing.map((person) => COLUMNS.map((c) => csvField(person.row[c] ?? '')).join(',')).join('\n')}\n`;

  await withScratchDatabase('import', 2, async (database) => {
    const seeded = await timed(() => importCustomers(database.db, readCsvRows(Readable.from([seed])), { defaultCountry: 'GB' }));
    console.log(`seeded ${seeded.result.rowsRead} customers in ${seeded.seconds.toFixed(1)} s (${Math.round(seeded.result.rowsRead / seeded.seconds)} rows/s)`);

    const run = await timed(() => importCustomers(database.db, readCsvRows(Readable.from([file.csv])), { defaultCountry: 'GB' }));
    const report = run.result;
    console.log(
      `imported ${report.rowsRead} rows in ${run.seconds.toFixed(1)} s: ${Math.round(report.rowsRead / run.seconds)} rows/s ` +
        `(new ${report.newCustomers}, merged ${Object.values(report.matched).reduce((a, b) => a + b, 0)}, queued ${report.queued.total}, ` +
        `already imported ${report.alreadyImported}, rejected ${report.rejected.length}, orders ${report.orders.stored}); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    );
    const again = await timed(() => importCustomers(database.db, readCsvRows(Readable.from([file.csv])), { defaultCountry: 'GB' }));
    console.log(`imported the same file again in ${again.seconds.toFixed(1)} s: ${again.result.alreadyImported} rows already imported; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  });
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const started = performance.now();
  const result = await work();
  return { result, seconds: (performance.now() - started) / 1000 };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
