// Identify latency against a growing events table, the cost of keeping a merge of a customer
// with many events reversible (BENCH_LARGE_MERGE_EVENTS, default 20,000), and the group-commit
// writer's throughput with identify calls mixed in. Needs a Postgres server (BENCH_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/postgres); works in a fresh database it drops at the end.
//
//   pnpm --filter @tally/collector bench:identify
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import type { Database as Tables } from '../src/db/schema/database.js';
import { writeFlush } from '../src/db/flush-writer.js';
import { stitchBatch, type StitchInput } from '../src/identity/stitch.js';
import { createGroupCommitWriter } from '../src/ingest/group-commit-writer.js';
import { withScratchDatabase } from './scratch-database.js';
import type { EventRecord } from '../src/ingest/records.js';

const CUSTOMERS = 100_000;
const IDENTIFIES = Number(process.env.BENCH_IDENTIFIES ?? 300);
const SOURCE = 'bench';

async function main() {
  await withScratchDatabase('identify', 4, async (database) => {
    await seedGraph(database.db);
    await seedEvents(database.db, 0, 10_000);
    await sql`analyze`.execute(database.db);
    report('identify (merge + re-point of 10 events), 10k events', await measureIdentifies(database.db, 'small'));
    console.log('filling the events table to 1,000,000 rows…');
    await seedEvents(database.db, 10_000, 1_000_000);
    await sql`analyze`.execute(database.db);
    report('identify (merge + re-point of 10 events), 1M events', await measureIdentifies(database.db, 'large'));
    await explainRepoint(database.db);
    await measureLargeMerges(database.db);
    await writerThroughput(database);
  });
}

/** 100,000 customers, half of them identified (user-<i>), each with its anonymousId anon-<i>. */
async function seedGraph(db: Kysely<Tables>) {
  await sql`
    insert into customers (id, first_seen_at, last_seen_at, identified_at, traits)
    select md5('c' || i)::uuid, now() - interval '30 days', now(), case when i % 2 = 0 then now() - interval '10 days' end,
      jsonb_build_object('plan', 'free')
    from generate_series(0, ${CUSTOMERS - 1}) as i`.execute(db);
  await sql`
    insert into identities (kind, source_id, value, customer_id, first_seen_at, last_seen_at)
    select 'anonymous', ${SOURCE}, 'anon-' || i, md5('c' || i)::uuid, now() - interval '30 days', now()
    from generate_series(0, ${CUSTOMERS - 1}) as i
    union all
    select 'user', ${SOURCE}, 'user-' || i, md5('c' || i)::uuid, now() - interval '10 days', now()
    from generate_series(0, ${CUSTOMERS - 1}, 2) as i`.execute(db);
}

/** Events `from`..`to` (exclusive), spread over the customers, ~600 bytes a row. */
async function seedEvents(db: Kysely<Tables>, from: number, to: number) {
  const step = 200_000;
  for (let start = from; start < to; start += step) {
    const end = Math.min(to, start + step);
    await sql`
      insert into events (message_id, source_id, type, event, anonymous_id, customer_id, "timestamp", received_at, properties, context, url, path, browser, os, device_type)
      select 'seed-' || g, ${SOURCE}, 'track', 'Product Viewed', 'anon-' || (g % ${CUSTOMERS}::int), md5('c' || (g % ${CUSTOMERS}::int))::uuid,
        now() - (g % 2592000) * interval '1 second', now(),
        jsonb_build_object('product_id', 'p-' || (g % 500), 'price', 19.99, 'currency', 'EUR', 'name', 'A product name of ordinary length'),
        jsonb_build_object('page', jsonb_build_object('url', 'https://shop.example.com/products/' || (g % 500), 'title', 'Shop'),
          'userAgent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36', 'locale', 'en-GB'),
        'https://shop.example.com/products/' || (g % 500), '/products/' || (g % 500), 'Chrome', 'Linux', 'desktop'
      from generate_series(${start}::int, ${end - 1}::int) as g`.execute(db);
  }
}

function input(partial: Partial<StitchInput> & { timestamp: Date }): StitchInput {
  return { source_id: SOURCE, source_kind: 'client', message_id: randomUUID(), type: 'track', anonymous_id: null, user_id: null, previous_id: null, traits: {}, ...partial };
}

/** Stitch and write the identity rows, then insert the events with their customers. */
async function writeEvents(trx: Kysely<Tables>, events: StitchInput[]) {
  const stitch = await stitchBatch(trx, events);
  await writeFlush(trx, { stitch, events: [], rejected: [] });
  const customers = stitch.customerIds;
  await trx
    .insertInto('events')
    .values(
      events.map((e, i) => ({
        message_id: e.message_id,
        source_id: e.source_id,
        type: e.type,
        anonymous_id: e.anonymous_id,
        user_id: e.user_id,
        customer_id: customers[i] ?? null,
        timestamp: e.timestamp,
        received_at: new Date(),
        traits: JSON.stringify(e.traits),
      })),
    )
    .execute();
}

/**
 * A new visitor browses (10 anonymous events), then logs in as a known user: the identify
 * merges the anonymous customer into the user's and re-points its 10 events. Only the
 * identify's transaction is timed.
 */
async function measureIdentifies(db: Kysely<Tables>, label: string): Promise<number[]> {
  const timings: number[] = [];
  for (let i = 0; i < IDENTIFIES; i++) {
    const anonymousId = `visitor-${label}-${i}`;
    const userId = `user-${(i * 2 * 7919) % CUSTOMERS}`;
    const start = Date.now() - 3_600_000;
    await db.transaction().execute((trx) =>
      writeEvents(trx, Array.from({ length: 10 }, (_, k) => input({ type: 'page', anonymous_id: anonymousId, timestamp: new Date(start + k * 1000) }))),
    );
    const began = performance.now();
    await db.transaction().execute((trx) =>
      writeEvents(trx, [input({ type: 'identify', anonymous_id: anonymousId, user_id: userId, timestamp: new Date(), traits: { plan: 'pro' } })]),
    );
    timings.push(performance.now() - began);
  }
  return timings;
}

function report(label: string, timings: number[]) {
  const sorted = [...timings].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2);
  console.log(`${label}: n=${sorted.length} p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`);
}

async function explainRepoint(db: Kysely<Tables>) {
  const { rows } = await sql<{ 'QUERY PLAN': string }>`
    explain update events e set customer_id = m.into_customer_id
    from jsonb_to_recordset(${JSON.stringify([{ from_customer_id: randomUUID(), into_customer_id: randomUUID() }])}::jsonb)
      as m(from_customer_id uuid, into_customer_id uuid)
    where e.customer_id = m.from_customer_id`.execute(db);
  console.log('re-point plan:\n  ' + rows.map((r) => r['QUERY PLAN']).join('\n  '));
}

const LARGE_MERGE_EVENTS = Number(process.env.BENCH_LARGE_MERGE_EVENTS ?? 20_000);

/**
 * An anonymous visitor with LARGE_MERGE_EVENTS events logs in as a known user: the identify
 * merges them and records what moved (for undo). Timed beside the bare re-point of another
 * such customer (the two updates alone, nothing recorded): the difference is what keeping a
 * merge reversible costs.
 */
async function measureLargeMerges(db: Kysely<Tables>) {
  const merges: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 5; i++) {
    for (const timings of [merges, bare]) {
      const anonymousId = `large-${timings === merges ? 'merge' : 'bare'}-${i}`;
      const customer = randomUUID();
      await sql`
        insert into customers (id, first_seen_at, last_seen_at, traits) values (${customer}, now() - interval '1 day', now(), '{"plan": "free"}')`.execute(db);
      await sql`
        insert into identities (kind, source_id, value, customer_id, first_seen_at, last_seen_at)
        values ('anonymous', ${SOURCE}, ${anonymousId}, ${customer}, now() - interval '1 day', now())`.execute(db);
      await sql`
        insert into events (message_id, source_id, type, event, anonymous_id, customer_id, "timestamp", received_at, properties, context)
        select ${anonymousId}::text || '-' || g, ${SOURCE}, 'track', 'Product Viewed', ${anonymousId}, ${customer},
          now() - (g % 86400) * interval '1 second', now(), '{"price": 19.99}', '{"locale": "en-GB"}'
        from generate_series(1, ${LARGE_MERGE_EVENTS}::int) as g`.execute(db);
      const userId = `user-${(i * 2 * 104_729 + (timings === merges ? 0 : 2)) % CUSTOMERS}`;
      const began = performance.now();
      if (timings === merges) {
        await db.transaction().execute((trx) =>
          writeEvents(trx, [input({ type: 'identify', anonymous_id: anonymousId, user_id: userId, timestamp: new Date(), traits: { plan: 'pro' } })]),
        );
      } else {
        await db.transaction().execute(async (trx) => {
          const into = (await trx.selectFrom('identities').select('customer_id').where('kind', '=', 'user').where('value', '=', userId).executeTakeFirstOrThrow()).customer_id;
          await sql`update identities set customer_id = ${into} where customer_id = ${customer}`.execute(trx);
          await sql`update events set customer_id = ${into} where customer_id = ${customer}`.execute(trx);
        });
      }
      timings.push(performance.now() - began);
    }
  }
  report(`merge of a customer with ${LARGE_MERGE_EVENTS} events, recorded for undo`, merges);
  report(`bare re-point of a customer with ${LARGE_MERGE_EVENTS} events, nothing recorded`, bare);
}

/**
 * The group-commit writer (2 connections, as the collector runs it) fed by 50 concurrent
 * senders of 20-event batches, 1 event in 20 an identify (half of them first logins, half a
 * known user on a new device, which merges), the rest anonymous page/track events. Without
 * HTTP: this isolates what stitching costs the write path.
 */
async function writerThroughput(database: Database) {
  for (const identifyShare of [0, 1 / 20]) {
    const writer = createGroupCommitWriter({ db: database.db, connections: 2 });
    const senders = 50;
    const batchesPerSender = 40;
    let visitor = 0;
    const began = performance.now();
    await Promise.all(
      Array.from({ length: senders }, async (_, s) => {
        for (let b = 0; b < batchesPerSender; b++) {
          const anonymousId = `w-${identifyShare}-${s}-${b}-${visitor++}`;
          const events = Array.from({ length: 20 }, (_, k) => {
            const identify = k > 0 && (k + b * 20 + s) % Math.round(1 / (identifyShare || Infinity)) === 0;
            const userId = identify ? (b % 2 === 0 ? `new-user-${s}-${b}` : `user-${((s * 131 + b) * 2) % CUSTOMERS}`) : null;
            return record({ type: identify ? 'identify' : k % 2 ? 'page' : 'track', anonymous_id: anonymousId, user_id: userId });
          });
          await writer.write({ events, rejected: [] });
        }
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    const total = senders * batchesPerSender * 20;
    console.log(`group-commit writer, ${identifyShare ? '1 in 20 identify' : 'no identify'}: ${total} events in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} events/s`);
    await writer.drain();
  }
}

function record(partial: Pick<EventRecord, 'type' | 'anonymous_id' | 'user_id'>): EventRecord {
  const now = new Date().toISOString();
  return {
    message_id: randomUUID(),
    source_id: SOURCE,
    event: partial.type === 'track' ? 'Product Viewed' : null,
    name: null,
    group_id: null,
    previous_id: null,
    timestamp: now,
    original_timestamp: now,
    sent_at: now,
    received_at: now,
    properties: { product_id: 'p-1', price: 19.99, currency: 'EUR' },
    traits: partial.type === 'identify' ? { plan: 'pro', email: 'someone@example.com' } : {},
    context: { page: { url: 'https://shop.example.com/products/1' }, locale: 'en-GB' },
    url: 'https://shop.example.com/products/1',
    path: '/products/1',
    referrer: null,
    utm_source: null,
    utm_medium: null,
    utm_campaign: null,
    utm_term: null,
    utm_content: null,
    browser: 'Chrome',
    browser_version: '120',
    os: 'Linux',
    os_version: null,
    device_type: 'desktop',
    ip: '203.0.113.0',
    ...partial,
  };
}


main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
