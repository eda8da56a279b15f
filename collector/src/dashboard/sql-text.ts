/**
 * The dashboard's SQL is shown to the person who reads the chart, and it is exactly what runs:
 * each panel's query is a constant with `{{name}}` placeholders, and `renderSql` writes the
 * values into it as SQL literals. The text returned is both run and shown, so it can be
 * copied into psql as it is.
 */

/** A value a panel passes to its query. */
export type SqlValue = string | number | Date | readonly string[] | null;

/**
 * Writes `values` into `template` as SQL literals: a string as a quoted literal (quotes
 * doubled; standard_conforming_strings is on in every supported Postgres), a finite number
 * as itself, a Date as an ISO timestamp literal, a string array as `array[...]::text[]`,
 * null as `null`. Throws on an unknown placeholder, a non-finite number or a NUL character.
 *
 * @example
 * renderSql('select {{n}} as n, {{name}} as name', { n: 2, name: "O'Brien" });
 * // "select 2 as n, 'O''Brien' as name"
 */
export function renderSql(template: string, values: Record<string, SqlValue>): string {
  return template.replace(/\{\{([a-z_]+)\}\}/g, (_match, name: string) => {
    if (!(name in values)) throw new Error(`no value for {{${name}}}`);
    return literal(values[name]!);
  });
}

/**
 * A query built with Kysely as one copyable text: each `$n` parameter written in as a SQL
 * literal (as `renderSql` writes values). Quoted strings and identifiers in the text are left
 * as they are. Throws on a parameter that is not a `SqlValue`.
 *
 * @example
 * inlineParameters({ sql: 'select * from identities where value = $1', parameters: ["O'Brien"] });
 * // "select * from identities where value = 'O''Brien'"
 */
export function inlineParameters(compiled: { sql: string; parameters: readonly unknown[] }): string {
  // Quoted text first, so that a `$1` inside a literal or identifier is never taken for a parameter.
  return compiled.sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\$(\d+)/g, (match, index: string | undefined) => {
    if (index === undefined) return match;
    const value = compiled.parameters[Number(index) - 1];
    if (!isSqlValue(value)) throw new Error(`parameter $${index} cannot be written as a SQL literal`);
    return literal(value);
  });
}

function isSqlValue(value: unknown): value is SqlValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || value instanceof Date) return true;
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function literal(value: SqlValue): string {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) return `${quote(value.toISOString())}::timestamptz`;
  if (typeof value === 'string') return quote(value);
  return `array[${value.map(quote).join(', ')}]::text[]`;
}

function quote(text: string): string {
  if (text.includes('\u0000')) throw new Error('a value holds a NUL character');
  return `'${text.replace(/'/g, "''")}'`;
}
