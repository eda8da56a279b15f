import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { readCsvRows, readJsonLines, type ReadRow } from './read-rows.js';

async function readAll(text: string, pieces = 1): Promise<ReadRow[]> {
  const size = Math.ceil(text.length / pieces);
  const chunks = Array.from({ length: pieces }, (_, i) => text.slice(i * size, (i + 1) * size));
  const rows: ReadRow[] = [];
  for await (const row of readCsvRows(Readable.from(chunks))) rows.push(row);
  return rows;
}

describe('readCsvRows', () => {
  test('reads a header, a BOM, CRLF line ends and quoted fields, each row with the line it starts on', async () => {
    const text = '\ufeffemail,notes\r\nann@example.com,"says ""hi"", then\r\nleaves"\r\n\r\nbob@example.com,plain\r\n';
    for (const pieces of [1, 7]) {
      expect(await readAll(text, pieces)).toEqual([
        { line: 2, values: { email: 'ann@example.com', notes: 'says "hi", then\r\nleaves' } },
        { line: 5, values: { email: 'bob@example.com', notes: 'plain' } },
      ]);
    }
  });

  test('a row with another number of fields than the header is a bad row; the rows after it are read', async () => {
    expect(await readAll('email,city\na@example.com\nb@example.com,York\n')).toEqual([
      { line: 2, reason: 'has 1 fields where the header has 2' },
      { line: 3, values: { email: 'b@example.com', city: 'York' } },
    ]);
  });

  test('text that stops being CSV ends the reading with an error naming the line, after the rows before it', async () => {
    const rows = await readAll('email,city\na@example.com,York\nb@example.com,"Le""eds\nc@example.com,Bath\n');
    expect(rows[0]).toEqual({ line: 2, values: { email: 'a@example.com', city: 'York' } });
    expect(rows.at(-1)).toMatchObject({ line: 3, reason: expect.stringMatching(/cannot be read as CSV from here on .*Quote Not Closed/) });
  });
});

describe('readJsonLines', () => {
  test('reads one JSON object per line; other lines are bad rows with their line', () => {
    expect([...readJsonLines('{"email":"a@example.com"}\n\n[1]\nnot json\r\n{"userId":"u-1"}')]).toEqual([
      { line: 1, values: { email: 'a@example.com' } },
      { line: 3, reason: 'is not a JSON object' },
      { line: 4, reason: 'is not valid JSON' },
      { line: 5, values: { userId: 'u-1' } },
    ]);
  });
});
