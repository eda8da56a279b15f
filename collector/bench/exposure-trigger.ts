/**
 * What the `experiment_exposure_days` triggers (migration 20261203T0300) cost a write: the same
 * inserts into `events` timed with the three triggers enabled and disabled, alternated, on a
 * scratch database of their own (dropped afterwards).
 *
 *   pnpm bench:exposure-trigger [--events 200000] [--batch 100] [--rounds 3]
 *
 * Two shapes: one bulk `insert … select` of `--events` rows, and the same rows in statements of
 * `--batch` rows (the collector writes a batch per statement). One event in ten is an
 * `Experiment Viewed`, about what a shop running two tests on its product pages sends.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { withScratchDatabase } from './scratch-database.js';

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
});
const events = Number(flags.events);
const batch = Number(flags.batch);
const rounds = Number(flags.rounds);
for (const [name, value] of Object.entries({ events, batch, rounds })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
}

const TRIGGERS = ['events_exposures_added', 'events_exposures_changed', 'events_exposures_removed'];

await withScratchDatabase('exposures', 1, async (database) => {
  const db = database.db;
  await sql`select tally_create_event_partitions('2026-01-01', '2026-02-01')`.execute(db);
  let next = 0;
  // Rows `from`..`to` of a stream of shop events over January 2026, every tenth an exposure.
  const insert = (from: number, to: number) => sql`
    insert into events (message_id, source_id, type, event, anonymous_id, customer_id, "timestamp", received_at, properties)
    select 'm-' || i, 'bench', 'track', case when i % 10 = 0 then 'Experiment Viewed' else 'Product Viewed' end,
           'a-' || (i % 50000), md5((i % 50000)::text)::uuid, ts, ts,
           case when i % 10 = 0 then jsonb_build_object('experiment_id', 'test-' || (i % 3), 'variant_id', case when i % 20 = 0 then 'control' else 'green' end)
                else jsonb_build_object('product_id', 'p-' || (i % 500)) end
      from (select i, timestamptz '2026-01-01' + (i % 2592000) * interval '1 second' as ts from generate_series(${from}::bigint, ${to}::bigint) i) x`.execute(db);
  const setTriggers = async (enabled: boolean) => {
    for (const name of TRIGGERS) await sql.raw(`alter table events ${enabled ? 'enable' : 'disable'} trigger ${name}`).execute(db);
  };
  const times: Record<string, number[]> = {};
  for (let round = 1; round <= rounds; round++) {
    for (const enabled of round % 2 === 1 ? [true, false] : [false, true]) {
      await setTriggers(enabled);
      const label = enabled ? 'with the exposure triggers' : 'without them';
      let started = performance.now();
      await insert(next + 1, next + events);
      next += events;
      const bulk = performance.now() - started;
      started = performance.now();
      for (let from = next + 1; from <= next + events; from += batch) await insert(from, Math.min(next + events, from + batch - 1));
      next += events;
      const batched = performance.now() - started;
      (times[`bulk ${label}`] ??= []).push(bulk);
      (times[`batches ${label}`] ??= []).push(batched);
      console.log(
        `round ${round}, ${label.padEnd(27)} bulk ${(bulk / 1000).toFixed(2)} s, ${batch}-row statements ${(batched / 1000).toFixed(2)} s (load ${loadavg()[0]!.toFixed(2)})`,
      );
    }
  }
  await setTriggers(true);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  for (const [label, values] of Object.entries(times)) {
    console.log(`${label.padEnd(40)} median ${(median(values) / 1000).toFixed(2)} s over ${values.length} (${(events / (median(values) / 1000)).toFixed(0)} events/s)`);
  }
  const rows = await sql<{ n: number }>`select count(*)::int as n from experiment_exposure_days`.execute(db);
  console.log(`experiment_exposure_days: ${rows.rows[0]!.n} rows after ${next.toLocaleString('en')} events`);
  console.log(`load average (1, 5, 15 min): ${loadavg().map((n) => n.toFixed(2)).join(', ')}`);
});
