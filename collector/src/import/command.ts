import { createReadStream } from 'node:fs';
import { access, constants, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { ConfigError, loadImportSettings } from '../config.js';
import type { Database } from '../db/schema/database.js';
import { importCustomers, type ImportReport } from './import-customers.js';
import { MATCH_RULES } from './match.js';
import { readCsvRows, readJsonLines, type ReadRow } from './read-rows.js';
import { decideReview, listReview, ReviewConflictError } from './review.js';

export const USAGE = `usage:
  import <customers.csv | records.ndjson | -> [--dry-run] [--threshold 0.9] [--country GB] [--source import] [--json]
  import review list [--limit 100] [--after <id>]
  import review accept <id>
  import review reject <id>
A file ending in .ndjson or .jsonl (or --ndjson) is read as JSON lines, anything else as CSV with a header row; - reads stdin.
  --dry-run     match and report, write nothing
  --threshold   a match at or above this confidence merges (default TALLY_IMPORT_THRESHOLD, else 0.9)
  --country     country of phone numbers without a country code (default TALLY_IMPORT_PHONE_COUNTRY)
  --source      the source id the import writes as (default TALLY_IMPORT_SOURCE_ID, else "import")
exit status: 0 done (rejected rows are listed in the report), 1 failed or nothing to decide, 2 bad arguments`;

/** Where the command runs: its database, environment, working directory and output. */
export interface CommandIo {
  db: Kysely<Database>;
  env: Record<string, string | undefined>;
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin?: NodeJS.ReadableStream | undefined;
  /** Who runs it, kept with review decisions. */
  actor?: string | undefined;
}

/**
 * The `import` command line (see `USAGE`): imports a file and prints its report, or lists and
 * decides the records waiting for review. Returns the exit status.
 *
 * @example
 * const status = await importCommand(['customers.csv', '--country', 'GB'], { db, env: process.env, cwd: process.cwd(), stdout: console.log, stderr: console.error });
 */
export async function importCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'dry-run': { type: 'boolean' },
        threshold: { type: 'string' },
        country: { type: 'string' },
        source: { type: 'string' },
        json: { type: 'boolean' },
        ndjson: { type: 'boolean' },
        limit: { type: 'string' },
        after: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  let settings;
  try {
    settings = loadImportSettings(io.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(error.message);
    return 2;
  }
  const sourceId = values.source ?? settings.sourceId;

  if (positionals[0] === 'review') return review(positionals.slice(1), values, sourceId, io);
  if (positionals.length !== 1) {
    io.stderr(USAGE);
    return 2;
  }
  const threshold = values.threshold === undefined ? settings.threshold : Number(values.threshold);
  if (!(threshold >= 0 && threshold <= 1) || values.threshold?.trim() === '') {
    io.stderr(`--threshold: expected a confidence from 0 to 1, got "${values.threshold}"\n${USAGE}`);
    return 2;
  }
  const file = positionals[0]!;
  let rows: AsyncIterable<ReadRow> | Iterable<ReadRow>;
  try {
    const ndjson = values.ndjson === true || /\.(ndjson|jsonl)$/i.test(file);
    const stdin = io.stdin ?? process.stdin;
    if (ndjson) rows = readJsonLines(file === '-' ? await readAll(stdin) : await readFile(resolve(io.cwd, file), 'utf8'));
    else rows = readCsvRows(file === '-' ? stdin : await openFile(resolve(io.cwd, file)));
  } catch (error) {
    io.stderr(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  let report: ImportReport;
  try {
    report = await importCustomers(io.db, rows, { threshold, defaultCountry: values.country ?? settings.defaultCountry, sourceId, dryRun: values['dry-run'] });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    io.stderr(`${error.message}\n${USAGE}`);
    return 2;
  }
  io.stdout(values.json ? JSON.stringify(report, null, 2) : describeReport(report));
  return 0;
}

async function review(args: string[], values: { limit?: string | undefined; after?: string | undefined; json?: boolean | undefined }, sourceId: string, io: CommandIo): Promise<number> {
  const [action, id, ...rest] = args;
  if (action === 'list' && id === undefined) {
    const limit = values.limit === undefined ? 100 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      io.stderr(`--limit: expected a whole number from 1 to 10000\n${USAGE}`);
      return 2;
    }
    const listed = await listReview(io.db, { limit, afterId: values.after });
    io.stdout(JSON.stringify(listed, null, 2));
    return 0;
  }
  if ((action === 'accept' || action === 'reject') && id !== undefined && rest.length === 0) {
    try {
      const decided = await decideReview(io.db, id, action, { actor: io.actor, sourceId });
      if (decided === null) {
        io.stderr(`no record ${id} waits for review (never queued, or decided already); nothing done`);
        return 1;
      }
      io.stdout(
        decided.status === 'accepted'
          ? `record ${id} accepted: merged into customer ${decided.customerId}`
          : `record ${id} rejected: kept apart as customer ${decided.customerId}`,
      );
      return 0;
    } catch (error) {
      if (!(error instanceof ReviewConflictError)) throw error;
      io.stderr(`record ${id}: ${error.message}; nothing done`);
      return 1;
    }
  }
  io.stderr(USAGE);
  return 2;
}

/**
 * The report as a person reads it.
 *
 * @example
 * console.log(describeReport(report));
 */
export function describeReport(report: ImportReport): string {
  const rules = (counts: Record<string, number>) =>
    MATCH_RULES.map(({ rule, confidence }) => `    ${rule.padEnd(16)} ${String(counts[rule]).padStart(7)}   (confidence ${confidence})`).join('\n');
  const lines = [
    `${report.dryRun ? 'dry run (nothing written) of ' : ''}import ${report.importId}, threshold ${report.threshold}`,
    `  rows read            ${String(report.rowsRead).padStart(7)}`,
    `  new customers        ${String(report.newCustomers).padStart(7)}`,
    `  merged into a customer, by rule:`,
    rules(report.matched),
    `  queued for review    ${String(report.queued.total).padStart(7)}   (see: import review list)`,
    rules(report.queued),
    `  already imported     ${String(report.alreadyImported).padStart(7)}`,
    `  orders stored        ${String(report.orders.stored).padStart(7)}   (${report.orders.duplicates} stored before)`,
    `  rejected rows        ${String(report.rejected.length).padStart(7)}`,
    ...report.rejected.map((row) => `    line ${row.line}: ${row.reason}`),
  ];
  return lines.join('\n');
}

async function openFile(path: string): Promise<NodeJS.ReadableStream> {
  // Checked first so that a missing file is an error here, not in the middle of the import.
  await access(path, constants.R_OK);
  return createReadStream(path);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
