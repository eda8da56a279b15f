// The collector's CPU per event on the path of an ingest request that runs in JavaScript
// outside HTTP and the database, stage by stage, in-process: the body parsed, the batch
// envelope checked, each event validated (`parseMessage`) and prepared (`prepareItems`:
// validation, storability, consent, identity trust, enrichment), and the events serialised as
// the writer sends them. Figures are CPU µs per event (process.cpuUsage), the median of
// BENCH_REPEATS rounds, each over the same batches of 20 shop events the HTTP benchmark sends.
//
//   pnpm --filter @tally/collector bench:prepare
//   BENCH_BATCHES=2000 BENCH_REPEATS=7 pnpm --filter @tally/collector bench:prepare
import { loadavg } from 'node:os';
import { encodeJson, parseBatch, parseMessage } from '@tally/schemas';
import { parseSources } from '../src/config.js';
import { parseJson } from '../src/ingest/parse-json.js';
import { prepareItems } from '../src/ingest/prepare.js';
import { makeEvent, newBrowser } from './shop-events.js';

const BATCH = 20;
const batches = Number(process.env.BENCH_BATCHES ?? 1_000);
const repeats = Number(process.env.BENCH_REPEATS ?? 7);
const [source] = parseSources([{ id: 'bench', writeKey: 'bench-write-key' }]);

// A fixed sequence (seeded), so that every run measures the same events.
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const bodies: string[] = [];
for (let b = 0, n = 0; b < batches; b++) {
  const browser = newBrowser(`b-${b}`);
  if (b % 3 === 0) browser.userId = browser.loginAs;
  const batch = Array.from({ length: BATCH }, () => makeEvent(browser, `m-${n}`, n++, random));
  bodies.push(JSON.stringify({ batch, sentAt: new Date().toISOString() }));
}
const parsed = bodies.map((body) => parseJson(body) as { batch: unknown[]; sentAt: string });
const request = { receivedAt: new Date(), ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0' };
const prepare = (body: { batch: unknown[]; sentAt: string }, encodedBatch?: { json: string; bytes: number }) =>
  prepareItems(body.batch, { source: source!, request, skewThresholdMs: 60_000, batchSentAt: body.sentAt, encodedBatch, pathPrefix: 'batch' });
/** What the batch route does between parsing the body and handing the events to the writer. */
const route = (body: { batch: unknown[]; sentAt: string }) => {
  const encoded = encodeJson(body);
  parseBatch(body, encoded?.bytes);
  return prepare(body, encoded);
};
const prepared = parsed.map(route);

const stages: [string, () => void][] = [
  ['parse the body (JSON.parse)', () => bodies.forEach((body) => parseJson(body))],
  ['check the envelope (parseBatch)', () => parsed.forEach((body) => parseBatch(body))],
  ['validate each event (parseMessage)', () => parsed.forEach((body) => body.batch.forEach((item, i) => parseMessage(item, `batch[${i}]`)))],
  ['prepare each event (prepareItems, validation included)', () => parsed.forEach((body) => prepare(body))],
  ['the batch route: envelope and events (encodeJson, parseBatch, prepareItems)', () => parsed.forEach(route)],
  ['serialise the events for the write (JSON.stringify)', () => prepared.forEach((p) => JSON.stringify(p.events))],
];

function cpuMicros(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

const events = batches * BATCH;
console.log(`load average before: ${loadavg().map((n) => n.toFixed(2)).join(', ')}`);
console.log(`${events.toLocaleString('en-US')} events in batches of ${BATCH}, median of ${repeats} rounds, CPU µs per event\n`);
for (const [name, work] of stages) {
  cpuMicros(work); // warm-up: JIT, caches
  const rounds = Array.from({ length: repeats }, () => cpuMicros(work) / events).sort((a, b) => a - b);
  const median = rounds[Math.floor(rounds.length / 2)]!;
  console.log(`${median.toFixed(2).padStart(8)} µs  ${name}   (min ${rounds[0]!.toFixed(2)}, max ${rounds.at(-1)!.toFixed(2)})`);
}
console.log(`\nload average after: ${loadavg().map((n) => n.toFixed(2)).join(', ')}`);
