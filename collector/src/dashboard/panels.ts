import { isAcceptedInstant } from '@tally/schemas';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { customersNamedBy } from '../db/people-store.js';
import type { Database as Tables } from '../db/schema/database.js';
import { ApiError } from '../errors.js';
import { parsePersonQuery, personKey, PersonQueryError, type PersonQuery } from '../privacy/person.js';
import * as queries from './queries.js';
import type { DashboardReader, QueryResult } from './reader.js';
import { inlineParameters, renderSql, type SqlValue } from './sql-text.js';

/** One panel's answer: the SQL that ran (copyable into psql) and what it returned. */
export interface PanelResult extends QueryResult {
  sql: string;
}

/** Columns `funnel()` may break down by, from the dashboard. */
export const BREAKDOWNS = ['utm_source', 'utm_medium', 'utm_campaign', 'device_type', 'browser', 'os', 'source_id'] as const;

/** A breakdown by an experiment's variant: `experiment:<experiment_id>` (`funnel()`, docs/sql.md). */
const EXPERIMENT_BREAKDOWN = /^experiment:.{1,200}$/s;
const MAX_STEPS = 10;
const WINDOW = /^([1-9][0-9]{0,3}) (minutes|hours|days)$/;

/**
 * Runs one panel's query: `template` with `values` written in, as the dashboard role.
 *
 * @example
 * const top = await runPanel(reader, queries.TOP_PAGES, { since, until });
 */
export async function runPanel(reader: DashboardReader, template: string, values: Record<string, SqlValue>): Promise<PanelResult> {
  const text = renderSql(template, values);
  return { sql: text, ...(await reader.query(text)) };
}

/** A `[since, until)` range from query parameters (ISO dates or instants), or a 400. */
export function parseRange(since: string | undefined, until: string | undefined): { since: Date; until: Date } {
  const range = { since: instant('since', since), until: instant('until', until) };
  if (range.since >= range.until) throw badRequest('since: must be before until');
  return range;
}

/** The overview: totals with the previous range beside them, revenue per currency, top pages, referrers and UTM sources. */
export async function overview(reader: DashboardReader, range: { since: Date; until: Date }) {
  const values = { ...range, previous_since: new Date(range.since.getTime() - (range.until.getTime() - range.since.getTime())) };
  // Side by side on Postgres (the dashboard's pool has two connections); one after another on the embedded engine.
  const [totals, revenue, pages, referrers, utmSources] = await Promise.all([
    runPanel(reader, queries.OVERVIEW_TOTALS, values),
    runPanel(reader, queries.OVERVIEW_REVENUE, values),
    runPanel(reader, queries.TOP_PAGES, range),
    runPanel(reader, queries.TOP_REFERRERS, range),
    runPanel(reader, queries.TOP_UTM_SOURCES, range),
  ]);
  return { totals, revenue, pages, referrers, utmSources };
}

/** The funnel: steps (2–10 event names), a range, a window such as `7 days`, an optional breakdown column. */
export async function funnel(
  reader: DashboardReader,
  input: { steps: string[]; since: string | undefined; until: string | undefined; within: string | undefined; breakdown: string | undefined },
) {
  const steps = input.steps.map((step) => step.trim());
  if (steps.length < 2 || steps.length > MAX_STEPS) throw badRequest(`steps: expected 2 to ${MAX_STEPS} event names, got ${steps.length}`);
  if (steps.some((step) => step === '' || step.length > 200)) throw badRequest('steps: each step is an event name of 1 to 200 characters');
  const within = input.within ?? '';
  if (!WINDOW.test(within)) throw badRequest(`within: expected a window such as "30 minutes", "24 hours" or "7 days", got "${within}"`);
  const breakdown = input.breakdown === undefined || input.breakdown === '' ? null : input.breakdown;
  if (breakdown !== null && !(BREAKDOWNS as readonly string[]).includes(breakdown) && !EXPERIMENT_BREAKDOWN.test(breakdown)) {
    throw badRequest(`breakdown: expected one of ${BREAKDOWNS.join(', ')} or experiment:<experiment_id>, got "${breakdown}"`);
  }
  return { funnel: await runPanel(reader, queries.FUNNEL, { ...parseRange(input.since, input.until), steps, within, breakdown }) };
}

/** Trends per UTC day: active customers, events by name, sessions by source. */
export async function trends(reader: DashboardReader, range: { since: Date; until: Date }) {
  const [dailyActive, eventsPerDay, sessionsPerDay] = await Promise.all([
    runPanel(reader, queries.DAILY_ACTIVE_CUSTOMERS, range),
    runPanel(reader, queries.EVENTS_PER_DAY, range),
    runPanel(reader, queries.SESSIONS_PER_DAY, range),
  ]);
  return { dailyActive, eventsPerDay, sessionsPerDay };
}

/** Compiles Kysely queries to Postgres' SQL without a connection (the customer search). */
const COMPILER = new Kysely<Tables>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/**
 * A customer's 360° view. The person is found as the data-rights API finds them
 * (`customersNamedBy`: by userId or anonymousId across the workspace, by e-mail trait
 * normalised), by that query's exact text, shown like every panel's; each part is then one
 * query over their customers.
 */
export async function customer360(reader: DashboardReader, search: Record<string, string | undefined>) {
  let person: PersonQuery;
  try {
    person = parsePersonQuery(search);
  } catch (error) {
    if (error instanceof PersonQueryError) throw badRequest(error.message);
    throw error;
  }
  // The search is the data-rights API's own query, shown as the text that runs.
  const text = inlineParameters(customersNamedBy(COMPILER, personKey(person)).compile());
  const found: PanelResult = { sql: text, ...(await reader.query(text)) };
  const customerIds = found.rows.map((row) => String(row.customer_id));
  if (customerIds.length === 0) throw new ApiError(404, 'not_found', 'no customer has this identifier');
  const values = { customer_ids: customerIds };
  return {
    customerIds,
    search: found,
    profile: await runPanel(reader, queries.CUSTOMER_PROFILE, values),
    identities: await runPanel(reader, queries.CUSTOMER_IDENTITIES, values),
    merges: await runPanel(reader, queries.CUSTOMER_MERGES, values),
    consent: await runPanel(reader, queries.CUSTOMER_CONSENT, values),
    orders: await runPanel(reader, queries.CUSTOMER_ORDERS, values),
    timeline: await runPanel(reader, queries.CUSTOMER_TIMELINE, values),
    // It runs every saved segment's definition: one that no longer runs is left out by
    // customer_profiles (the Segments page shows which, with its error). Any other failure of
    // the database here fails this part alone, with its message.
    segments: await runPanel(reader, queries.CUSTOMER_SEGMENTS, values).catch((error: unknown) => {
      const message = databaseMessage(error);
      if (message === undefined) throw error;
      return { sql: renderSql(queries.CUSTOMER_SEGMENTS, values), columns: [], rows: [], error: message };
    }),
  };
}

/**
 * The database's own message when `error` is its answer about a query (it carries an SQLSTATE):
 * such a failure belongs to the part that asked. Anything else (the connection lost) is not.
 */
function databaseMessage(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  return typeof message === 'string' ? message : `the query failed (SQLSTATE ${code})`;
}

/** A saved segment's size now, or why its definition did not run. */
export type SegmentSize = { members: number; error: null } | { members: null; error: string };

/**
 * Segments: customers per RFM group and currency, and the saved segments with their size now.
 * Each size is its own query in its own transaction: a definition that fails is answered on
 * its row with the database's message, and the other segments are still counted. The SQL
 * shown is every statement that ran, in order.
 */
export async function segments(reader: DashboardReader) {
  const rfm = await runPanel(reader, queries.RFM_GROUPS, {});
  const list = await runPanel(reader, queries.SAVED_SEGMENTS, {});
  const statements = [list.sql];
  const rows: Record<string, unknown>[] = [];
  for (const row of list.rows) {
    const text = renderSql(queries.SEGMENT_SIZE, { segment: String(row.name) });
    statements.push(text);
    rows.push({ ...row, ...(await segmentSize(reader, text)) });
  }
  return { rfm, saved: { sql: statements.join(';\n'), columns: [...list.columns, 'members', 'error'], rows } };
}

async function segmentSize(reader: DashboardReader, text: string): Promise<SegmentSize> {
  try {
    const { rows } = await reader.query(text);
    return { members: Number(rows[0]?.members ?? 0), error: null };
  } catch (error) {
    // The database's answer about this definition belongs on its row; anything else fails the panel.
    const message = databaseMessage(error);
    if (message === undefined) throw error;
    return { members: null, error: message };
  }
}

/** One saved segment's members (a 404 when no segment has that name). */
export async function segmentMembers(reader: DashboardReader, name: string) {
  const known = await runPanel(reader, queries.SEGMENT_NAMED, { segment: name });
  if (known.rows.length === 0) throw new ApiError(404, 'not_found', `no saved segment is named "${name}"`);
  return { members: await runPanel(reader, queries.SEGMENT_MEMBERS, { segment: name }) };
}

/** `experiment_results()` for one experiment and goal event over a range. */
export async function experimentResults(
  reader: DashboardReader,
  input: { experiment: string | undefined; goal: string | undefined; since: string | undefined; until: string | undefined },
) {
  const experiment = input.experiment?.trim() ?? '';
  const goal = input.goal?.trim() ?? '';
  if (experiment === '' || experiment.length > 200) throw badRequest('experiment: expected an experiment_id of 1 to 200 characters');
  if (goal === '' || goal.length > 200) throw badRequest('goal: expected an event name of 1 to 200 characters');
  const range = parseRange(input.since, input.until);
  return { results: await runPanel(reader, queries.EXPERIMENT_RESULTS, { experiment, goal_event: goal, ...range }) };
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'bad_request', message);
}

function instant(name: string, value: string | undefined): Date {
  const ms = value === undefined ? NaN : Date.parse(value);
  if (!Number.isFinite(ms) || !isAcceptedInstant(ms)) throw badRequest(`${name}: expected an ISO date or instant such as 2026-03-01, got "${value ?? ''}"`);
  return new Date(ms);
}
