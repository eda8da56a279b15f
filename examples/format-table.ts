/**
 * Rows as an aligned text table, the way psql prints them.
 *
 * @example
 * console.log(formatTable([{ step: 1, customers: 42 }]));
 */
export function formatTable(rows: Record<string, unknown>[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cells = rows.map((row) => columns.map((column) => show(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)));
  const numeric = columns.map((column) => rows.every((row) => row[column] === null || row[column] === undefined || typeof row[column] === 'number'));
  const line = (values: string[], header = false) =>
    values.map((v, i) => (numeric[i] && !header ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' | ').trimEnd();
  return [
    line(columns, true),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...cells.map((values) => line(values)),
    `(${rows.length} row${rows.length === 1 ? '' : 's'})`,
  ].join('\n');
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
