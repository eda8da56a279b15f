import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';
import type { Source } from '../config.js';
import {
  findCandidateCustomers,
  importedFingerprints,
  lockAndReadUserIds,
  writeImportChunk,
} from '../db/import-store.js';
import { lockCustomers } from '../db/identity-store.js';
import type { Database } from '../db/schema/database.js';
import type { MatchRule } from '../db/schema/import.js';
import { classifyWriteFailure, describeWriteFailure, retryingConflicts } from '../ingest/write-failure.js';
import { readCustomerRecord, type CustomerRecord, type RowError } from './customer-record.js';
import { buildWrite, storedKeys, type Placement } from './apply-records.js';
import { CustomerIndex, DEFAULT_MATCH_THRESHOLD, MATCH_RULES, matchRecord } from './match.js';
import type { ReadRow } from './read-rows.js';

export interface ImportOptions {
  /** A match at or above it merges (default 0.9, `TALLY_IMPORT_THRESHOLD`). */
  threshold?: number | undefined;
  /** Country of phone numbers without a country code (ISO 3166 alpha-2). */
  defaultCountry?: string | undefined;
  /** The source the import writes as (default `import`). */
  sourceId?: string | undefined;
  /** Match and report, but write nothing. */
  dryRun?: boolean | undefined;
  /** Records per transaction (default 2,000). */
  chunkSize?: number | undefined;
  /** The import's clock (tests pin it). */
  now?: (() => Date) | undefined;
}

/** What an import did, row by row summed up. */
export interface ImportReport {
  importId: string;
  dryRun: boolean;
  threshold: number;
  /** Every data row of the input, blank lines aside. */
  rowsRead: number;
  /** Records that matched no customer and made a new one. */
  newCustomers: number;
  /** Records merged into a customer, by the rule that matched them. */
  matched: Record<MatchRule, number>;
  /** Records waiting for review (`import review list`), by the rule that proposed their candidate. */
  queued: Record<MatchRule, number> & { total: number };
  /** Rows identical to one imported before (in this input or an earlier import): nothing to do. */
  alreadyImported: number;
  /** Orders stored as `Order Completed` events, and those stored before (same order id). */
  orders: { stored: number; duplicates: number };
  /** Rows not imported, with their line and why; nothing of them was written. */
  rejected: RowError[];
}

/** An import that could not go on (the database went away); what was committed before stays. */
export class ImportAbortedError extends Error {
  override name = 'ImportAbortedError';
  constructor(
    readonly report: ImportReport,
    cause: unknown,
  ) {
    super(
      `the import stopped: the database is unavailable (${describeWriteFailure(cause)}); the chunks written before stay, import the file again to finish (rows already imported are skipped)`,
      { cause },
    );
  }
}

const DRY_RUN = Symbol('dry run');

/** A customer a record matched was merged away by a concurrent identify before the record was written; the record is matched again. */
class CandidateGoneError extends Error {
  override name = 'CandidateGoneError';
  constructor() {
    super('a customer the records matched was merged into another meanwhile');
  }
}

/**
 * Imports customer records (docs/design.md §3 rule 9): each row is read as a record
 * (`readCustomerRecord`), matched against the workspace's customers and the rows before it
 * (`matchRecord`), and merged into its customer, made a new customer, or queued for review;
 * its order becomes an `Order Completed` event. Rows go in chunks, one transaction each, the
 * SQL set-based per chunk; a chunk that fails is written again row by row, so a row is applied
 * whole or not at all and a bad row costs only itself. Returns the report.
 *
 * @example
 * const report = await importCustomers(database.db, readCsvRows(createReadStream('customers.csv')), { defaultCountry: 'GB' });
 */
export async function importCustomers(db: Kysely<Database>, rows: AsyncIterable<ReadRow> | Iterable<ReadRow>, options: ImportOptions = {}): Promise<ImportReport> {
  const threshold = options.threshold ?? DEFAULT_MATCH_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold: expected a confidence from 0 to 1, got ${threshold}`);
  const country = options.defaultCountry?.toUpperCase();
  if (country !== undefined && !isSupportedCountry(country)) throw new RangeError(`default country: "${options.defaultCountry}" is not a country code libphonenumber knows`);
  const importedAt = (options.now ?? (() => new Date()))();
  const source = importSource(options.sourceId ?? 'import');
  const chunkSize = options.chunkSize ?? 2_000;
  const report = emptyReport(randomUUID(), threshold, options.dryRun ?? false);
  const context: ChunkContext = {
    db,
    index: new CustomerIndex(),
    seen: new Set(),
    threshold,
    defaultCountry: country as CountryCode | undefined,
    source,
    importedAt,
    report,
  };

  let chunk: CustomerRecord[] = [];
  // One chunk is written while the rows of the next are read: the database and the parsing
  // overlap, while chunks are still matched and written one after the other.
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const row of rows) {
      report.rowsRead++;
      const record = 'reason' in row ? row : readCustomerRecord(row, { source, defaultCountry: context.defaultCountry, importedAt });
      if ('reason' in record) report.rejected.push(record);
      else chunk.push(record);
      if (chunk.length >= chunkSize) {
        const ready = chunk;
        chunk = [];
        await writing;
        writing = importChunk(context, ready);
        writing.catch(() => {}); // awaited before the next chunk or at the end
      }
    }
    await writing;
    if (chunk.length > 0) await importChunk(context, chunk);
  } catch (error) {
    if (classifyWriteFailure(error) === 'unavailable') throw new ImportAbortedError(report, error);
    throw error;
  }
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
}

/** The source an import writes as: a server source, whose traits win over those of client sources. */
export function importSource(id: string): Source {
  return { id, writeKey: 'customer-import', allowedOrigins: [], consentMode: 'opt-out', kind: 'server' };
}

interface ChunkContext {
  db: Kysely<Database>;
  index: CustomerIndex;
  /** Fingerprints of this import's rows so far: an identical row later is already imported. */
  seen: Set<string>;
  threshold: number;
  defaultCountry: CountryCode | undefined;
  source: Source;
  importedAt: Date;
  report: ImportReport;
}

async function importChunk(context: ChunkContext, records: CustomerRecord[]): Promise<void> {
  try {
    // A chunk rolled back for colliding with the collector's writes (a deadlock) is run again.
    await retryingConflicts(() => writeChunk(context, records));
  } catch (error) {
    if (classifyWriteFailure(error) === 'unavailable' || records.length === 1) {
      if (records.length === 1 && classifyWriteFailure(error) !== 'unavailable') {
        context.report.rejected.push({ line: records[0]!.line, reason: `could not be stored: ${describeWriteFailure(error)}` });
        return;
      }
      throw error;
    }
    // Row by row, so that only the row that cannot be stored is left out.
    for (const record of records) await importChunk(context, [record]);
  }
}

/** Matches and writes one chunk in one transaction; on failure nothing of it is written or counted. */
async function writeChunk(context: ChunkContext, records: CustomerRecord[]): Promise<void> {
  const { index, report } = context;
  const mark = index.mark();
  const tally = emptyTally();
  try {
    await context.db.transaction().execute(async (trx) => {
      const imported = await importedFingerprints(trx, records.map((r) => r.fingerprint));
      const seenHere = new Set<string>();
      const fresh = records.filter((record) => {
        const known = imported.has(record.fingerprint) || context.seen.has(record.fingerprint) || seenHere.has(record.fingerprint);
        seenHere.add(record.fingerprint);
        if (known) tally.alreadyImported++;
        return !known;
      });
      if (fresh.length === 0) return;

      const userIds = [...new Set(fresh.flatMap((r) => (r.keys.userId === null ? [] : [r.keys.userId])))];
      const customersOfUsers = await lockAndReadUserIds(trx, userIds);
      const candidates = await findCandidateCustomers(trx, {
        emails: unique(fresh.map((r) => r.keys.email)),
        phones: unique(fresh.map((r) => r.keys.phone)),
        namePostcodes: fresh.flatMap(({ keys, traits }) =>
          keys.name !== null && keys.postcode !== null ? [{ name: String(traits.name), postcode: keys.postcode }] : [],
        ),
        nameBirthDates: fresh.flatMap(({ keys, traits }) =>
          keys.name !== null && keys.birthDate !== null ? [{ name: String(traits.name), birthDate: keys.birthDate }] : [],
        ),
        customerIds: [...new Set(customersOfUsers.values())],
      });
      for (const candidate of candidates) {
        index.add(candidate.id, storedKeys(candidate.traits, context.defaultCountry));
        for (const userId of candidate.user_ids) index.add(candidate.id, { ...NO_KEYS, userId });
      }

      const placements: Placement[] = [];
      for (const record of fresh) {
        const decision = matchRecord(record.keys, index, context.threshold);
        if (decision.outcome === 'new') {
          const customerId = randomUUID();
          index.add(customerId, record.keys);
          placements.push({ record, status: 'new', customerId, isNew: true });
          tally.newCustomers++;
        } else if (decision.outcome === 'merge') {
          index.add(decision.candidate, record.keys);
          placements.push({ record, status: 'merged', customerId: decision.candidate, isNew: false, match: decision });
          tally.matched[decision.rule]++;
        } else {
          placements.push({ record, status: 'queued', customerId: null, isNew: false, match: decision });
          tally.queued[decision.rule]++;
        }
      }
      // The customers merged into must still exist when written (a concurrent identify may have
      // merged one away since it was read); then nobody can merge them away until this commits.
      // (A dry run wrote none of the customers it made, so it has nothing to check.)
      const createdHere = new Set(placements.flatMap((p) => (p.isNew ? [p.customerId!] : [])));
      const targets = [...new Set(placements.flatMap((p) => (p.status === 'merged' && !createdHere.has(p.customerId!) ? [p.customerId!] : [])))];
      if (!report.dryRun && (await lockCustomers(trx, targets)).length !== targets.length) throw new CandidateGoneError();
      const write = buildWrite(placements, { importId: report.importId, source: context.source, importedAt: context.importedAt, decidedBy: null });
      const { eventsStored } = await writeImportChunk(trx, write);
      tally.ordersStored += eventsStored;
      tally.ordersDuplicate += placements.filter((p) => p.status !== 'queued' && p.record.order !== null).length - eventsStored;
      if (context.report.dryRun) throw DRY_RUN;
    });
  } catch (error) {
    if (error !== DRY_RUN) {
      index.undo(mark);
      throw error;
    }
  }
  index.commit();
  for (const record of records) context.seen.add(record.fingerprint);
  addTally(report, tally);
}

const NO_KEYS = { userId: null, email: null, phone: null, name: null, postcode: null, birthDate: null };

function unique(values: (string | null)[]): string[] {
  return [...new Set(values.filter((value): value is string => value !== null))];
}

interface Tally {
  newCustomers: number;
  matched: Record<MatchRule, number>;
  queued: Record<MatchRule, number>;
  alreadyImported: number;
  ordersStored: number;
  ordersDuplicate: number;
}

function perRule(): Record<MatchRule, number> {
  return Object.fromEntries(MATCH_RULES.map(({ rule }) => [rule, 0])) as Record<MatchRule, number>;
}

function emptyTally(): Tally {
  return { newCustomers: 0, matched: perRule(), queued: perRule(), alreadyImported: 0, ordersStored: 0, ordersDuplicate: 0 };
}

function emptyReport(importId: string, threshold: number, dryRun: boolean): ImportReport {
  return {
    importId,
    dryRun,
    threshold,
    rowsRead: 0,
    newCustomers: 0,
    matched: perRule(),
    queued: { ...perRule(), total: 0 },
    alreadyImported: 0,
    orders: { stored: 0, duplicates: 0 },
    rejected: [],
  };
}

function addTally(report: ImportReport, tally: Tally): void {
  report.newCustomers += tally.newCustomers;
  report.alreadyImported += tally.alreadyImported;
  report.orders.stored += tally.ordersStored;
  report.orders.duplicates += tally.ordersDuplicate;
  for (const { rule } of MATCH_RULES) {
    report.matched[rule] += tally.matched[rule];
    report.queued[rule] += tally.queued[rule];
    report.queued.total += tally.queued[rule];
  }
}
