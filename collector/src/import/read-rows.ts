import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { ImportRow, RowError } from './customer-record.js';

/** A row to import, or a line that could not be read as one. */
export type ReadRow = ImportRow | RowError;

/**
 * Reads a CSV file of customer records (parsed by `csv-parse`): a header row naming the columns,
 * then one record per row; quoted fields (which may hold commas, quotes and line breaks), a
 * UTF-8 byte-order mark and CRLF or LF line ends are understood. Each row comes with the line
 * it starts on. A row whose number of fields differs from the header's is a `RowError`; text
 * that is not CSV any more (a quote never closed, …) ends the reading with a `RowError` naming
 * where the last good row ended, since nothing after it can be trusted to be split right.
 *
 * @example
 * for await (const row of readCsvRows(createReadStream('customers.csv'))) console.log(row);
 */
export async function* readCsvRows(input: AsyncIterable<string | Buffer> | NodeJS.ReadableStream): AsyncGenerator<ReadRow> {
  const source = input instanceof Readable ? input : Readable.from(input as AsyncIterable<string | Buffer>);
  const parser = parse({ bom: true, raw: true, relax_column_count: true, skip_empty_lines: false, record_delimiter: ['\r\n', '\n'] });
  // Records are taken as the parser emits them ('data'), not through its async iterator, which
  // drops the records parsed before an error; the parser is paused while the import catches up.
  const queue: { record: string[]; raw: string }[] = [];
  let failure: unknown;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  parser.on('data', (item: { record: string[]; raw: string }) => {
    queue.push(item);
    if (queue.length >= 1_000) parser.pause();
    notify();
  });
  parser.on('error', (error) => {
    failure = error;
    notify();
  });
  parser.on('end', () => {
    ended = true;
    notify();
  });
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);

  let header: string[] | undefined;
  let line = 1;
  try {
    for (;;) {
      if (queue.length === 0) {
        if (failure !== undefined) {
          const message = failure instanceof Error ? failure.message : String(failure);
          yield { line, reason: `the file cannot be read as CSV from here on (${message}); nothing after this line was imported` };
          return;
        }
        if (ended) return;
        parser.resume();
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const { record, raw } = queue.shift()!;
      const start = line;
      line += (raw.match(/\r\n|\r|\n/g) ?? []).length;
      if (record.length === 1 && record[0]!.trim() === '') continue; // a blank line
      if (header === undefined) {
        header = record.map((name) => name.trim());
        continue;
      }
      if (record.length !== header.length) {
        yield { line: start, reason: `has ${record.length} fields where the header has ${header.length}` };
        continue;
      }
      const values: Record<string, string> = {};
      header.forEach((name, i) => Object.defineProperty(values, name, { value: record[i], enumerable: true, writable: true, configurable: true }));
      yield { line: start, values };
    }
  } finally {
    source.unpipe(parser);
    source.destroy();
    parser.destroy();
  }
}

/**
 * Reads JSON lines (NDJSON): one customer record per line, a JSON object whose fields are
 * named as CSV columns are. A line that is not a JSON object is a `RowError`; blank lines are skipped.
 *
 * @example
 * [...readJsonLines('{"email":"ann@example.com"}\n{"userId":"u-2"}')]
 */
export function* readJsonLines(text: string): Generator<ReadRow> {
  const lines = text.split(/\r?\n/);
  for (const [index, content] of lines.entries()) {
    if (content.trim() === '') continue;
    const line = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch {
      yield { line, reason: 'is not valid JSON' };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) yield { line, reason: 'is not a JSON object' };
    else yield { line, values: value as Record<string, unknown> };
  }
}
