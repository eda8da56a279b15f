/**
 * Times every query of the dashboard's panels (src/dashboard/queries.ts), as the panels run
 * them, on an existing database that is never written to:
 *
 *   pnpm bench:dashboard [--database tally_bench_10m] [--since 2026-01-01 --until 2026-01-31] [--runs 3]
 *
 * DATABASE_URL names the server (default postgres://postgres@127.0.0.1:5432/postgres). Each
 * query runs in `BEGIN READ ONLY … ROLLBACK`, as `tally_dashboard` when that role can read
 * the events there, else as the connecting user (said in the output). The range defaults to
 * the days the events cover. A query slower than 20 s is run once.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createDatabase } from '../src/db/database.js';
import * as queries from '../src/dashboard/queries.js';
import { renderSql, type SqlValue } from '../src/dashboard/sql-text.js';
import { referenceSeconds, serverSpeedLine } from './server-speed.js';

const { values: flags } = parseArgs({
  options: {
    database: { type: 'string', default: 'tally_bench_10m' },
    since: { type: 'string' },
    until: { type: 'string' },
    runs: { type: 'string', default: '3' },
  },
});
const runs = Number(flags.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, got ${flags.runs}`);
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(flags.database)) throw new Error(`--database must be a plain lower-case Postgres name, got ${flags.database}`);
const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
url.pathname = `/${flags.database}`;
const database = await createDatabase({ url: url.toString(), poolSize: 1, migrate: false });
const db = database.db;

const { rows: facts } = await sql<{ events: number; first: Date; last: Date; role: boolean }>`
  select count(*) as events, min("timestamp") as first, max("timestamp") as last,
         exists (select 1 from pg_roles where rolname = 'tally_dashboard')
           and has_table_privilege('tally_dashboard', 'events', 'select') and has_table_privilege('tally_dashboard', 'identities', 'select') as role
    from events`.execute(db);
const { events, first, last, role } = facts[0]!;
const day = (date: Date) => date.toISOString().slice(0, 10);
const since = new Date(flags.since ?? day(first));
const until = new Date(flags.until ?? day(new Date(last.getTime() + 86_400_000)));
const previousSince = new Date(since.getTime() - (until.getTime() - since.getTime()));
console.log(`${flags.database}: ${events.toLocaleString('en')} events; range ${day(since)} – ${day(until)}; ${role ? 'as tally_dashboard' : 'as the connecting user (tally_dashboard cannot read here)'}; ${runs} run(s)`);

const someone = await sql<{ customer_id: string; events: number }>`
  select customer_id, count(*)::int as events from events
   where customer_id = (select customer_id from events where type = 'track' and customer_id is not null limit 1)
   group by 1`.execute(db);
const customer = someone.rows[0]!;
const seen = await sql<{ experiment_id: string }>`
  select properties ->> 'experiment_id' as experiment_id from events where event = 'Experiment Viewed' and properties ? 'experiment_id' limit 1`.execute(db);
const experiment = seen.rows[0]?.experiment_id;
const range = { since, until };
const steps = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'];
const panels: [panel: string, name: string, template: string, values: Record<string, SqlValue>][] = [
  ['overview', 'totals', queries.OVERVIEW_TOTALS, { ...range, previous_since: previousSince }],
  ['overview', 'revenue', queries.OVERVIEW_REVENUE, { ...range, previous_since: previousSince }],
  ['overview', 'top pages', queries.TOP_PAGES, range],
  ['overview', 'top referrers', queries.TOP_REFERRERS, range],
  ['overview', 'top UTM sources', queries.TOP_UTM_SOURCES, range],
  ['overview', 'live count', queries.LIVE_EVENTS, {}],
  ['funnel', 'event names', queries.EVENT_NAMES, {}],
  ['funnel', '4 steps, 7 days', queries.FUNNEL, { ...range, steps, within: '7 days', breakdown: null }],
  // A breakdown replaces the plain funnel's query: each is a panel of its own here, so that the
  // sums per panel below are what one view of the page runs.
  ['funnel by utm_source', '4 steps, 7 days', queries.FUNNEL, { ...range, steps, within: '7 days', breakdown: 'utm_source' }],
  // Set on nearly every event, unlike a campaign column: the other way a breakdown is looked up.
  ['funnel by device_type', '4 steps, 7 days', queries.FUNNEL, { ...range, steps, within: '7 days', breakdown: 'device_type' }],
  ['trends', 'daily active', queries.DAILY_ACTIVE_CUSTOMERS, range],
  ['trends', 'events per day', queries.EVENTS_PER_DAY, range],
  ['trends', 'sessions per day', queries.SESSIONS_PER_DAY, range],
  ['customer 360°', 'profile', queries.CUSTOMER_PROFILE, { customer_ids: [customer.customer_id] }],
  ['customer 360°', 'identities', queries.CUSTOMER_IDENTITIES, { customer_ids: [customer.customer_id] }],
  ['customer 360°', 'merges', queries.CUSTOMER_MERGES, { customer_ids: [customer.customer_id] }],
  ['customer 360°', 'consent', queries.CUSTOMER_CONSENT, { customer_ids: [customer.customer_id] }],
  ['customer 360°', 'orders', queries.CUSTOMER_ORDERS, { customer_ids: [customer.customer_id] }],
  ['customer 360°', 'timeline', queries.CUSTOMER_TIMELINE, { customer_ids: [customer.customer_id] }],
];
// The segments and experiments panels read the analytics views (migrations of 2 December): a
// database seeded before them is timed without these panels.
const { rows: analytics } = await sql<{ present: boolean }>`select to_regclass('customer_rfm') is not null as present`.execute(db);
if (analytics[0]!.present) {
  panels.push(
    ['customer 360°', 'segments', queries.CUSTOMER_SEGMENTS, { customer_ids: [customer.customer_id] }],
    ['segments', 'RFM groups', queries.RFM_GROUPS, {}],
    ['segments', 'saved segments', queries.SAVED_SEGMENTS, {}],
    ['experiments', 'experiments seen', queries.EXPERIMENT_IDS, {}],
  );
  if (experiment !== undefined) {
    panels.push(
      ['experiments', 'results', queries.EXPERIMENT_RESULTS, { ...range, experiment, goal_event: 'Order Completed' }],
      // The experiments page's link opens the funnel broken down by the variant.
      ['funnel by variant', `4 steps, 7 days, ${experiment}`, queries.FUNNEL, { ...range, steps, within: '7 days', breakdown: `experiment:${experiment}` }],
    );
  }
  // Each saved segment's size is a query of its own (one is timed: the first by name).
  const { rows: saved } = await sql<{ name: string }>`select name from segments order by name limit 1`.execute(db);
  if (saved[0] !== undefined) panels.push(['segments', `size of ${saved[0].name}`, queries.SEGMENT_SIZE, { segment: saved[0].name }]);
} else {
  console.log(`${flags.database} predates the analytics views (no customer_rfm): the segments and experiments panels are not timed`);
}

async function timeOnce(text: string): Promise<number> {
  return db.connection().execute(async (connection) => {
    await sql`begin transaction read only`.execute(connection);
    try {
      if (role) await sql`set local role tally_dashboard`.execute(connection);
      const started = performance.now();
      await sql.raw(text).execute(connection);
      return performance.now() - started;
    } finally {
      await sql`rollback`.execute(connection);
    }
  });
}

const runReference = (text: string) => sql.raw(text).execute(db);
const speedBefore = await referenceSeconds(runReference);
const results: { panel: string; query: string; best_s: string; median_s: string; goal: string; runs: number; load: string }[] = [];
const perPanel = new Map<string, number>();
for (const [panel, name, template, values] of panels) {
  const text = renderSql(template, values);
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    times.push(await timeOnce(text));
    if (times[0]! > 20_000) break;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  perPanel.set(panel, (perPanel.get(panel) ?? 0) + median);
  results.push({
    panel,
    query: name,
    best_s: (times[0]! / 1000).toFixed(3),
    median_s: (median / 1000).toFixed(3),
    goal: median <= 2000 ? '≤ 2 s met' : '≤ 2 s NOT met',
    runs: times.length,
    load: loadavg()[0]!.toFixed(2),
  });
  console.log(
    `${panel} / ${name}: median ${(median / 1000).toFixed(3)} s (goal ≤ 2 s: ${median <= 2000 ? 'met' : 'NOT met'}; load average ${loadavg()[0]!.toFixed(2)})`,
  );
}
console.table(results);
console.log(`customer 360° over a customer with ${customer.events} events`);
for (const [panel, ms] of perPanel) console.log(`${panel}: ${(ms / 1000).toFixed(2)} s for all its queries (sum of medians)`);
console.log(`load average (1, 5, 15 min): ${loadavg().map((n) => n.toFixed(2)).join(', ')}`);
console.log(serverSpeedLine(speedBefore, await referenceSeconds(runReference)));
await database.close();
