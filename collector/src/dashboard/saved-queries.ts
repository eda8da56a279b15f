import * as z from 'zod';
import type { Database } from '../db/database.js';
import { checkStatement, type StatementPlace } from '../db/read-only-statement.js';
import { ApiError } from '../errors.js';

/** Where typed SQL runs, for the refusals' wording. */
export const SQL_EDITOR: StatementPlace = {
  name: "the dashboard's SQL editor",
  writeHint: 'the dashboard only reads; change data with psql as a role that may write',
};

/** A saved query as the editor sends it. */
export const SavedQueryInput = z.object({
  name: z.string().trim().min(1, 'expected a name').max(200, 'expected at most 200 characters'),
  sql: z.string().trim().min(1, 'expected a query').max(20_000, 'expected at most 20,000 characters'),
  chart: z.enum(['table', 'line', 'bar']).default('table'),
});
export type SavedQueryInput = z.infer<typeof SavedQueryInput>;

/**
 * The SQL of a request, checked as the SQL editor runs it: one read-only statement
 * (`checkStatement`); a 400 saying why otherwise.
 *
 * @example
 * const text = editorStatement(body.sql);
 */
export function editorStatement(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') throw new ApiError(400, 'bad_request', 'sql: expected the text of a query');
  const check = checkStatement(text, SQL_EDITOR);
  if (!check.ok) throw new ApiError(400, 'not_read_only', check.reason);
  return text;
}

/**
 * Saves a query under its name (the same name replaces the query saved before). Only a query
 * the SQL editor would run is saved. The collector's own user writes it; the dashboard role
 * cannot.
 *
 * @example
 * const { id } = await saveQuery(database, { name: 'Orders per day', sql: 'select …', chart: 'line' });
 */
export async function saveQuery(database: Database, input: unknown): Promise<{ id: number }> {
  const parsed = SavedQueryInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ApiError(400, 'bad_request', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const query = parsed.data;
  editorStatement(query.sql);
  const saved = await database.db
    .insertInto('dashboard_queries')
    .values(query)
    .onConflict((conflict) => conflict.column('name').doUpdateSet({ sql: query.sql, chart: query.chart, updated_at: new Date() }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: Number(saved.id) };
}

/** Every saved query, by name. */
export function listQueries(database: Database) {
  return database.db.selectFrom('dashboard_queries').select(['id', 'name', 'chart', 'updated_at']).orderBy('name').execute();
}

/** One saved query, or a 404. */
export async function savedQuery(database: Database, id: string) {
  if (!/^[0-9]{1,18}$/.test(id)) throw new ApiError(404, 'not_found', `no saved query ${id}`);
  const query = await database.db.selectFrom('dashboard_queries').selectAll().where('id', '=', Number(id)).executeTakeFirst();
  if (query === undefined) throw new ApiError(404, 'not_found', `no saved query ${id}`);
  return query;
}
