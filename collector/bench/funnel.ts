/**
 * Funnel benchmark: loads N events (10 million by default) of shop journeys over 30 days
 * into a database of its own on a real Postgres server, then times the marketers' queries.
 *
 *   pnpm bench:funnel [--events 10000000] [--customers 500000] [--reuse] [--runs 5] [--skip-sessions] [--database tally_bench_funnel]
 *
 * Besides the funnels it times the reports of docs/sql.md that read every customer: RFM, an
 * A/B test's results (the test's `Experiment Viewed` events, one per customer, are added under
 * the source `bench-experiments` when missing), sessions per day by source over the 30 days
 * (the dashboard's query, over the session roll-up) and, unless --skip-sessions, sessions
 * computed from every event. The daily roll-ups are filled once, timed, when they are empty
 * (a database just loaded, or one a new roll-up migration has not filled yet).
 *
 * Page views carry a referrer: a campaign's landing page (the tenth of page views that has a
 * utm_source) the site matching its source (www.google.com for google, newsletter.example.net,
 * www.facebook.com, www.bing.com), three tenths another page of the shop (a click inside the
 * site, which the referrer roll-up leaves out), the rest none (typed in, or a bookmark). A
 * database loaded before page views had referrers gets them once, timed, and its roll-ups
 * are refreshed over every loaded day.
 *
 * DATABASE_URL names the server (default postgres://postgres@127.0.0.1:5432/postgres); the
 * data goes to the database `tally_bench_funnel` (or --database) on it, which --reuse keeps
 * between runs.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createDatabase } from '../src/db/database.js';
import * as dashboardQueries from '../src/dashboard/queries.js';
import { renderSql } from '../src/dashboard/sql-text.js';
import { referenceSeconds, serverSpeedLine } from './server-speed.js';

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    customers: { type: 'string' },
    runs: { type: 'string', default: '5' },
    reuse: { type: 'boolean', default: false },
    'skip-sessions': { type: 'boolean', default: false },
    database: { type: 'string', default: 'tally_bench_funnel' },
  },
});

const events = positive('events', flags.events);
const customers = flags.customers ? positive('customers', flags.customers) : Math.max(1, Math.round(events / 20));
const runs = positive('runs', flags.runs);
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const benchName = flags.database;
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(benchName)) {
  console.error(`--database must be a plain lower-case Postgres name, got ${benchName}`);
  process.exit(2);
}

function positive(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive whole number, got ${value}`);
    process.exit(2);
  }
  return n;
}

// The referrer of page view i of customer c (SQL expressions, both bigint). The campaign
// landing pages (i % 10 = 0, which get utm_source (array['google', 'newsletter', 'facebook',
// 'bing'])[1 + c % 4]) come from that source's site; three in ten page views from another page
// of the shop; the rest have none.
function pageReferrerSql(i: string, c: string): string {
  return `case when (${i}) % 10 = 0
                 then (array['https://www.google.com/', 'https://newsletter.example.net/', 'https://www.facebook.com/', 'https://www.bing.com/search'])[1 + (${c}) % 4]
               when (${i}) % 10 in (1, 2, 3) then 'https://shop.example/products/p-' || ((${i}) * 7 % 500) end`;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function query(url: string, text: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  console.log(`${label.padEnd(58)} ${(ms / 1000).toFixed(2).padStart(7)} s`);
  return { ms, result };
}

const url = withDatabase(serverUrl, benchName);
const exists = (await query(serverUrl, 'select 1 from pg_database where datname = $1', [benchName])).rowCount === 1;
let loaded = 0;
if (exists && flags.reuse) {
  loaded = Number((await query(url, `select count(*) as n from events where source_id = 'bench'`)).rows[0].n);
}
if (!flags.reuse || loaded !== events) {
  await query(serverUrl, `drop database if exists ${benchName} with (force)`);
  await query(serverUrl, `create database ${benchName}`);
}

// Migrations not yet applied to a reused database run here (a roll-up migration fills its
// table from every event): timed, as an upgrade would take that long.
const { result: database } = await timed('open the database, applying pending migrations', () => createDatabase({ url, poolSize: 2 }));
const db = database.db;
const client = new pg.Client({ connectionString: url });
await client.connect();

// Every month with events has its partition, as on a collector that ran through them (it makes
// the coming months' ahead of time): the journeys fall in January 2026, and the exposures a
// minute before a first visit at midnight on 1 January fall on 31 December. A database loaded
// before December's partition was made gets it now, and its December rows move out of
// events_default.
await client.query(`select tally_create_event_partitions('2025-12-01', '2026-02-01')`);

if (loaded !== events) {
  console.log(`loading ${events.toLocaleString('en')} events of ${customers.toLocaleString('en')} customers over 30 days …`);
  // Loading is faster without the secondary indexes; they are built again afterwards.
  const indexes = await client.query<{ indexname: string; indexdef: string }>(
    `select indexname, indexdef from pg_indexes where tablename = 'events' and indexname <> 'events_pkey'`,
  );
  for (const index of indexes.rows) await client.query(`drop index ${index.indexname}`);
  // Loaded straight into the table, the rows skip the message-id ledger, which no query here
  // reads.
  const chunk = 1_000_000;
  const started = performance.now();
  for (let from = 1; from <= events; from += chunk) {
    const to = Math.min(events, from + chunk - 1);
    // Each customer is active over three days somewhere in the 30; what they do is drawn
    // with a shop's frequencies: half pageviews, a fifth product views, fewer adds,
    // checkouts and orders. Rows carry a realistic context (user agent, page, library).
    await client.query(
      `insert into events (message_id, source_id, type, event, anonymous_id, user_id, customer_id, "timestamp", received_at,
                           properties, context, url, path, referrer, utm_source, utm_medium, utm_campaign, browser, os, device_type)
       select 'm-' || i, 'bench', case when kind = 'page' then 'page' else 'track' end,
              case when kind = 'page' then null else kind end,
              'a-' || (c * 3 + (i % 2)), case when c % 3 = 0 then 'u-' || c end, md5(c::text)::uuid, ts, ts,
              case when kind = 'page' then '{}'::jsonb
                   when kind = 'Order Completed' then jsonb_build_object('order_id', 'o-' || i, 'revenue', 20 + (i % 180),
                        'products', jsonb_build_array(jsonb_build_object('product_id', 'p-' || (i % 500), 'price', 20 + (i % 180), 'quantity', 1)))
                   else jsonb_build_object('product_id', 'p-' || (i % 500), 'price', 20 + (i % 180)) end,
              jsonb_build_object(
                'userAgent', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
                'library', jsonb_build_object('name', '@tally/sdk-web', 'version', '0.1.0'),
                'locale', 'en-GB',
                'page', jsonb_build_object('path', '/products/p-' || (i % 500), 'url', 'https://shop.example/products/p-' || (i % 500), 'title', 'Product ' || (i % 500)),
                'consent', jsonb_build_object('categoryPreferences', jsonb_build_object('analytics', true, 'marketing', c % 4 <> 0))),
              'https://shop.example/products/p-' || (i % 500), '/products/p-' || (i % 500),
              case when kind = 'page' then ${pageReferrerSql('i', 'c')} end,
              case when kind = 'page' and i % 10 = 0 then (array['google', 'newsletter', 'facebook', 'bing'])[1 + c % 4] end,
              case when kind = 'page' and i % 10 = 0 then 'cpc' end,
              case when kind = 'page' and i % 10 = 0 then 'winter-' || (c % 7) end,
              'Chrome', 'macOS', 'desktop'
         from (select i, c,
                      timestamptz '2026-01-01' + ((c::bigint * 2654435761) % (27 * 86400)) * interval '1 second' + r1 * interval '3 days' as ts,
                      -- Most visitors browse and leave; a quarter ever add to cart, one in ten
                      -- checks out, one in twenty buys.
                      case when r2 < 0.55 then 'page'
                           when r2 < 0.85 then 'Product Viewed'
                           when r2 < 0.93 and intent < 25 then 'Product Added'
                           when r2 < 0.95 and intent < 25 then 'Cart Viewed'
                           when r2 < 0.97 and intent < 10 then 'Checkout Started'
                           when r2 < 0.99 and intent < 5 then 'Order Completed'
                           when r2 < 0.93 then 'Product Viewed'
                           else 'Signed Up' end as kind
                 from (select i, c, (c * 7919) % 100 as intent, random() as r1, random() as r2
                         from (select i, (floor(power(random(), 1.5) * $3))::bigint + 1 as c
                                 from generate_series($1::bigint, $2::bigint) i) pick) draw) journey`,
      [from, to, customers],
    );
    const done = to;
    const rate = done / ((performance.now() - started) / 1000);
    process.stderr.write(`\r  ${done.toLocaleString('en')} / ${events.toLocaleString('en')} events (${Math.round(rate).toLocaleString('en')}/s)   `);
  }
  process.stderr.write('\n');
  // An index of the partitioned table is listed as made "ON ONLY" the parent; made again
  // without ONLY, it is built on every partition.
  for (const index of indexes.rows) {
    await timed(`create index ${index.indexname}`, () => client.query(index.indexdef.replace(' ON ONLY ', ' ON ')));
  }
  await timed('vacuum analyze events', () => client.query('vacuum (analyze) events'));
  await timed('vacuum analyze customer_event_days', () => client.query('vacuum (analyze) customer_event_days'));
}

// Half the customers see the control of a checkout-button test, half the green variant,
// a minute before their first visit.
const exposures = Number((await client.query(`select count(*) as n from events where source_id = 'bench-experiments'`)).rows[0].n);
if (exposures === 0) {
  await timed('add one Experiment Viewed per customer', () =>
    client.query(
      `insert into events (message_id, source_id, type, event, anonymous_id, customer_id, "timestamp", received_at, properties)
       select 'x-' || c, 'bench-experiments', 'track', 'Experiment Viewed', 'a-' || (c * 3), md5(c::text)::uuid, ts, ts,
              jsonb_build_object('experiment_id', 'checkout-button', 'variant_id', case when c % 2 = 0 then 'control' else 'green' end)
         from (select c, timestamptz '2026-01-01' + ((c::bigint * 2654435761) % (27 * 86400)) * interval '1 second' - interval '1 minute' as ts
                 from generate_series(1, $1::bigint) c) x`,
      [customers],
    ),
  );
  // Vacuumed, not only analysed: half a million new rows clear the visibility map where they
  // land, and autovacuum would not visit a table this size for so few; the campaign index is
  // then read alone, as on a table vacuumed in the ordinary course.
  await timed('vacuum analyze events', () => client.query('vacuum (analyze) events'));
}

// A database loaded before page views had referrers gets them once, as a load now would give
// them: page view i ('m-' || i) of customer c (anonymous id 'a-' || (c * 3 + i % 2)). Its
// referrer roll-ups were filled from no referrers, so every loaded day is refreshed below.
const referred = (await client.query(`select exists (select 1 from events where type = 'page' and referrer is not null) as referred`)).rows[0].referred;
let referrersAdded = false;
if (!referred) {
  const { result: added } = await timed('add the referrers of page views', () =>
    client.query(
      `update events
          set referrer = ${pageReferrerSql('substring(message_id from 3)::bigint', 'substring(anonymous_id from 3)::bigint / 3')}
        where source_id = 'bench' and type = 'page' and substring(message_id from 3)::bigint % 10 in (0, 1, 2, 3)`,
    ),
  );
  console.log(`  ${(added.rowCount ?? 0).toLocaleString('en')} page views now have a referrer`);
  // Vacuumed for the same reason as after the exposures: the updated rows' old versions are
  // dead, and the pages they left are no longer all-visible.
  await timed('vacuum analyze events', () => client.query('vacuum (analyze) events'));
  referrersAdded = true;
}

// The daily roll-ups (migration 20261202T1600 and later) are filled by the collector's
// schedule for recent days only; the loaded January is filled here once (again, once, when
// the referrers were just added: one refresh fills every roll-up).
const rollupsFilled = (await client.query(`select exists (select 1 from daily_event_counts) and exists (select 1 from daily_session_counts) as filled`)).rows[0].filled;
if (!rollupsFilled || referrersAdded) {
  await timed(`${rollupsFilled ? 'refresh' : 'fill'} the daily roll-ups over every loaded day, once`, () =>
    client.query(`select tally_refresh_daily_rollups((min("timestamp") at time zone 'UTC')::date, (max("timestamp") at time zone 'UTC')::date) from events`),
  );
}
// Freshly filled tables are read index-only once vacuumed (autovacuum does it in time on a
// live database); a table vacuumed already costs little. customer_event_days too: the
// exposures added above land in the free space of pages all over it and clear their
// visibility bits, and half a million rows in a table of 2.7 million stay under autovacuum's
// insert threshold, so the funnel's index-only count would fetch every row from the table.
await timed('vacuum analyze the roll-ups', () =>
  client.query(
    `vacuum (analyze) customer_event_days, daily_event_counts, customer_days, customer_page_days, daily_session_counts, daily_referrer_counts,
                      referrer_customer_days, daily_utm_source_counts, utm_source_customer_days, experiment_exposure_days,
                      customer_campaign_touches`,
  ),
);

const size = await client.query(
  // Sizes summed over the partitions (a partitioned table or index holds nothing itself).
  `select pg_size_pretty((select sum(pg_table_size(relid)) from pg_partition_tree('events'))) as heap,
          pg_size_pretty((select sum(pg_relation_size(relid)) from pg_partition_tree('events_event_customer_timestamp'))) as funnel_index,
          (select count(*) from customer_event_days) as day_rows, pg_size_pretty(pg_total_relation_size('customer_event_days')) as day_size`,
);
const sizes = size.rows[0];
console.log(`events: ${events.toLocaleString('en')} rows, heap ${sizes.heap}, funnel index ${sizes.funnel_index}`);
console.log(`customer_event_days: ${Number(sizes.day_rows).toLocaleString('en')} rows, ${sizes.day_size} with its index`);

const steps = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'];
const funnelSql = `select step, event, breakdown_value, customers, conversion_from_previous, conversion_from_first, median_time_from_previous
                     from funnel($1::text[], '2026-01-01', '2026-01-31', '7 days', $2)`;
const figures: Record<string, number[]> = {};
const speedBefore = await referenceSeconds((text) => client.query(text));
const record = (label: string, ms: number) => (figures[label] ??= []).push(ms);

let lastFunnel: pg.QueryResult | undefined;
for (let run = 1; run <= runs; run++) {
  const { ms, result } = await timed(`4-step funnel, 30-day range, 7-day window (run ${run})`, () => client.query(funnelSql, [steps, null]));
  record('funnel', ms);
  lastFunnel = result;
}
console.table(lastFunnel?.rows.map((r) => ({ ...r, median_time_from_previous: JSON.stringify(r.median_time_from_previous) })));

for (let run = 1; run <= runs; run++) {
  const { ms } = await timed(`same, broken down by utm_source (run ${run})`, () => client.query(funnelSql, [steps, 'utm_source']));
  record('funnel by utm_source', ms);
}

const customerCount = Number((await client.query(`select count(distinct customer_id) as n from customer_event_days`)).rows[0].n);
let lastRfm: pg.QueryResult | undefined;
for (let run = 1; run <= runs; run++) {
  const { ms, result } = await timed(`RFM groups over every customer (run ${run})`, () =>
    client.query(`select currency, rfm_group, count(*) as customers, sum(net_revenue) as net_revenue from customer_rfm group by 1, 2 order by 1, 2`),
  );
  record('rfm', ms);
  lastRfm = result;
}
console.table(lastRfm?.rows);

let lastExperiment: pg.QueryResult | undefined;
for (let run = 1; run <= runs; run++) {
  const { ms, result } = await timed(`experiment results, 30 days (run ${run})`, () =>
    client.query(`select * from experiment_results('checkout-button', 'Order Completed', '2026-01-01', '2026-01-31')`),
  );
  record('experiment', ms);
  lastExperiment = result;
}
console.table(lastExperiment?.rows);

// The dashboard's sessions per day by source, as it runs it (from the session roll-up).
const sessionsPerDay = renderSql(dashboardQueries.SESSIONS_PER_DAY, { since: new Date('2026-01-01T00:00:00Z'), until: new Date('2026-01-31T00:00:00Z') });
for (let run = 1; run <= runs; run++) {
  const { ms } = await timed(`sessions per day by source, 30 days (run ${run})`, () => client.query(sessionsPerDay));
  record('sessions per day', ms);
}

// Sessions are computed when queried. What that costs: one customer's sessions (what a
// support or profile page asks), and sessions per day over all events (a report).
if (!flags['skip-sessions']) {
  const someone = (await client.query('select customer_id from events where customer_id is not null limit 1')).rows[0].customer_id;
  await timed(`one customer's sessions`, () => client.query('select * from sessions where customer_id = $1', [someone]));
  // The profile ranks every customer (RFM) and evaluates every saved segment, whoever it is for.
  await timed(`one customer's profile`, () => client.query('select * from customer_profiles where customer_id = $1', [someone]));
  await timed(`sessions per landing page and day, all ${events.toLocaleString('en')} events`, () =>
    client.query(`select date_trunc('day', started_at) as day, landing_path, count(*) from sessions group by 1, 2`),
  );
}

const best = (label: string) => Math.min(...(figures[label] ?? [Number.NaN]));
const median = (label: string) => {
  const sorted = [...(figures[label] ?? [Number.NaN])].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};
console.log(`\nload average while measuring: ${loadavg().map((n) => n.toFixed(2)).join(', ')} (1, 5, 15 min)`);
console.log(serverSpeedLine(speedBefore, await referenceSeconds((text) => client.query(text))));
const goals: [key: string, label: string, goalSeconds: number][] = [
  ['funnel', '4-step funnel', 2],
  ['funnel by utm_source', 'same funnel by utm_source', 2],
  ['rfm', `RFM over ${customerCount.toLocaleString('en')} customers`, 5],
  ['experiment', 'experiment results', 2],
  ['sessions per day', 'sessions per day by source, 30 days', 2],
];
for (const [key, label, goal] of goals) {
  const done = figures[key]?.length ?? 0;
  if (done === 0) continue;
  const seconds = median(key) / 1000;
  console.log(
    `${label.padEnd(40)} median ${seconds.toFixed(2).padStart(6)} s of ${done} run${done === 1 ? '' : 's'}, best ${(best(key) / 1000).toFixed(2)} s` +
      `  (goal ≤ ${goal} s: ${seconds <= goal ? 'met' : 'NOT met'})`,
  );
}

await client.end();
await database.close();
