// What a poison event costs the group-commit writer: groups of concurrent requests written
// as they come, then the same with one event in one request that a trigger makes fail at
// insert (so the group is written again one request at a time and the poison request one
// event at a time). Needs a Postgres server (BENCH_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/postgres); works in a fresh database it drops at the end.
//
//   pnpm --filter @tally/collector bench:poison
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { createGroupCommitWriter, type FlushStats } from '../src/ingest/group-commit-writer.js';
import { withScratchDatabase } from './scratch-database.js';
import type { EventRecord } from '../src/ingest/records.js';

const REQUESTS = 50;
const EVENTS_PER_REQUEST = 20;
const ROUNDS = 10;

async function main() {
  await withScratchDatabase('poison', 2, async (database) => {
    await sql
      .raw(
        `create function bench_poison() returns trigger language plpgsql as $$
         begin if new.event = 'Poison' then raise exception 'poisoned'; end if; return new; end $$;
         create trigger bench_poison before insert on events for each row execute function bench_poison();`,
      )
      .execute(database.db);
    for (const poisoned of [false, true, false, true]) {
      const flushes: FlushStats[] = [];
      const writer = createGroupCommitWriter({ db: database.db, connections: 1, onFlush: (s) => flushes.push(s) });
      const started = performance.now();
      let stored = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const requests = Array.from({ length: REQUESTS }, (_, r) => ({
          events: Array.from({ length: EVENTS_PER_REQUEST }, (_, e) => event(poisoned && r === REQUESTS / 2 && e === 7 ? 'Poison' : 'Viewed')),
          rejected: [],
        }));
        const results = await Promise.all(requests.map((request) => writer.write(request)));
        stored += results.reduce((n, result) => n + result.accepted, 0);
      }
      const seconds = (performance.now() - started) / 1000;
      const isolating = flushes.filter((f) => !f.ok);
      const slowest = Math.max(...flushes.map((f) => f.seconds));
      console.log(
        `${poisoned ? 'one poison event per round' : 'no poison           '}: ${ROUNDS} rounds of ${REQUESTS} requests × ${EVENTS_PER_REQUEST} events, ` +
          `${stored} stored in ${seconds.toFixed(2)} s (${Math.round(stored / seconds)} events/s); ${flushes.length} transactions, ` +
          `${isolating.length} isolated, slowest group ${(slowest * 1000).toFixed(0)} ms`,
      );
    }
  });
}

function event(name: string): EventRecord {
  const now = new Date().toISOString();
  return {
    message_id: randomUUID(), source_id: 'bench', type: 'track', event: name, name: null, anonymous_id: `anon-${randomUUID()}`,
    user_id: null, group_id: null, previous_id: null, timestamp: now, original_timestamp: now, sent_at: now, received_at: now,
    properties: { plan: 'pro' }, traits: {}, context: {}, url: null, path: null, referrer: null, utm_source: null, utm_medium: null,
    utm_campaign: null, utm_term: null, utm_content: null, browser: null, browser_version: null, os: null, os_version: null,
    device_type: null, ip: null,
  };
}


await main();
