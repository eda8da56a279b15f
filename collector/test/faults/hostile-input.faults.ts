import { MAX_BATCH_BYTES } from '@tally/schemas';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { writerAndMetrics } from '../support/collector-app.js';
import type { AppConfig } from '../../src/app-context.js';
import { CATEGORIES, hostileRequests, gzipBomb, type HostileCategory, type HostileRequest } from './hostile-requests.js';
import { FAULT_SOURCE, startCollector, type CollectorProcess } from './support/collector-process.js';
import { createFaultDatabase } from './support/fault-database.js';
import { rawRequest } from './support/raw-http.js';
import { recordScenario } from './support/summary.js';
import type { TestDatabase } from '../support/test-database.js';

const IN_PROCESS = Number(process.env.TALLY_FUZZ_REQUESTS ?? 100_000);
const OVER_HTTP = Number(process.env.TALLY_FUZZ_HTTP_REQUESTS ?? 3_000);
const SEED = Number(process.env.TALLY_FUZZ_SEED ?? 20_261_123);
const CONCURRENCY = Number(process.env.TALLY_FUZZ_CONCURRENCY ?? 64);

const config: AppConfig = {
  sources: [{ ...FAULT_SOURCE, allowedOrigins: [...FAULT_SOURCE.allowedOrigins] }],
  trustProxy: 0,
  skewThresholdMs: 60_000,
  adminKey: undefined,
};

interface Tally {
  requests: number;
  byCategory: Map<HostileCategory, Map<number, number>>;
  failures: string[];
  /** Keys (`fz-<run>-<n>`) of events answered as accepted / as rejected. */
  accepted: Set<string>;
  rejected: Set<string>;
  eventRejections: number;
  /** Events refused for consent: counted in consent_refusals, never kept. */
  consentRefusals: number;
  sqlAccepted: string[];
}

const newTally = (): Tally => ({
  requests: 0,
  byCategory: new Map(),
  failures: [],
  accepted: new Set(),
  rejected: new Set(),
  eventRejections: 0,
  consentRefusals: 0,
  sqlAccepted: [],
});

/** The status a request is counted under when the connection closed before its answer came. */
const CLOSED = 0;

/**
 * Whether a fetch failed because the collector closed the connection while the body was still
 * being sent, and the body is one it may refuse as too large: it answers 413 and closes without
 * reading the rest (read-body.ts), and a client still writing can see the close before the
 * answer. The raw requests below allow it too. Any other failure is a fault.
 */
function closedOnTooLarge(request: HostileRequest, error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  const mayBeTooLarge = request.body.length > MAX_BATCH_BYTES || request.headers['content-encoding'] !== undefined;
  return mayBeTooLarge && (code === 'EPIPE' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET');
}

const keyOf = (runId: string, id: unknown) =>
  typeof id === 'string' ? new RegExp(`^(fz-${runId}-\\d+)`).exec(id)?.[1] : undefined;

/** Counts a request under its category and the status it got (CLOSED: none, the connection closed). */
function countAnswer(tally: Tally, request: HostileRequest, status: number): void {
  tally.requests += 1;
  const counts = tally.byCategory.get(request.category) ?? new Map<number, number>();
  counts.set(status, (counts.get(status) ?? 0) + 1);
  tally.byCategory.set(request.category, counts);
}

/** Checks one answer against what the request required; failures are kept as readable lines. */
function judge(tally: Tally, runId: string, request: HostileRequest, status: number, text: string): void {
  countAnswer(tally, request, status);
  const fail = (why: string) => {
    if (tally.failures.length < 30) {
      const shown = Buffer.from(request.body.subarray(0, 300)).toString('utf8');
      tally.failures.push(`${request.category} ${request.path} → ${status}: ${why}\n    answer: ${text.slice(0, 300)}\n    body: ${shown}`);
    }
  };
  if (status >= 500) return fail('a server error for client input');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('the answer is not JSON');
  }
  if (status >= 400) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof error?.code !== 'string' || typeof error.message !== 'string' || error.message.length < 5) {
      return fail('a refusal without { error: { code, message } }');
    }
    if (request.expect === 'per-event') fail('refused as a whole, though each event should have been judged on its own');
    return;
  }
  if (request.forged) return fail('accepted a request with a forged write key');
  if (request.expect === 'request-error') return fail('accepted a request that must be refused');
  const answer = parsed as { accepted?: unknown; rejected?: { index?: unknown; messageId?: unknown; reason?: unknown; message?: unknown }[] };
  if (typeof answer.accepted !== 'number' || !Array.isArray(answer.rejected)) return fail('a 2xx without accepted and rejected');
  const rejectedIndexes = new Set<number>();
  for (const item of answer.rejected) {
    tally.eventRejections += 1;
    if (typeof item.reason !== 'string' || item.reason === '' || typeof item.message !== 'string') fail('a rejected event without reason and message');
    if (typeof item.index === 'number') rejectedIndexes.add(item.index);
    const key = keyOf(runId, item.messageId);
    if (item.reason === 'consent') tally.consentRefusals += 1;
    else if (key) tally.rejected.add(key);
  }
  request.messageIds.forEach((id, index) => {
    if (rejectedIndexes.has(index)) return;
    const key = keyOf(runId, id);
    if (!key) return;
    tally.accepted.add(key);
    if (request.category === 'sql-fragments' && id && tally.sqlAccepted.length < 2_000) tally.sqlAccepted.push(id);
  });
}

async function verifyDatabase(database: TestDatabase, tally: Tally, runId: string): Promise<{ stored: number; duplicates: number; lost: number }> {
  const like = `fz-${runId}-%`;
  const events = await sql<{ message_id: string }>`select message_id from events where source_id = ${FAULT_SOURCE.id} and message_id like ${like}`.execute(database.db);
  const storedCounts = new Map<string, number>();
  for (const row of events.rows) {
    const key = keyOf(runId, row.message_id);
    if (key) storedCounts.set(key, (storedCounts.get(key) ?? 0) + 1);
  }
  const rejectedRows = await sql<{ message_id: string | null; reason: string }>`
    select message_id, reason from rejected_events where source_id = ${FAULT_SOURCE.id} and message_id like ${like}`.execute(database.db);
  const rejectedKeys = new Set<string>();
  for (const row of rejectedRows.rows) {
    const key = keyOf(runId, row.message_id);
    if (key && row.reason) rejectedKeys.add(key);
  }
  const lost = [...tally.accepted].filter((key) => storedCounts.get(key) !== 1);
  const unacknowledged = [...storedCounts.keys()].filter((key) => !tally.accepted.has(key));
  const rejectedMissing = [...tally.rejected].filter((key) => !rejectedKeys.has(key));
  // Past the source's daily budget a refused event is only counted; refused for consent, always.
  const ledger = await sql<{ over: number | null; consent: number | null; consent_rows: number }>`
    select (select sum(rows_over_budget)::int8 from rejected_event_usage where source_id = ${FAULT_SOURCE.id}) as over,
      (select sum(events)::int8 from consent_refusals where source_id = ${FAULT_SOURCE.id}) as consent,
      (select count(*)::int8 from rejected_events where source_id = ${FAULT_SOURCE.id} and reason = 'consent') as consent_rows`.execute(database.db);
  const { over, consent, consent_rows: consentRows } = ledger.rows[0]!;
  expect(lost.slice(0, 10), 'accepted events not stored exactly once').toEqual([]);
  expect(unacknowledged.slice(0, 10), 'events stored though never acknowledged').toEqual([]);
  if (Number(over ?? 0) === 0) expect(rejectedMissing.slice(0, 10), 'rejected events without a row in rejected_events').toEqual([]);
  expect(rejectedMissing.length, 'rejected events neither kept nor counted over budget').toBeLessThanOrEqual(Number(over ?? 0));
  expect(Number(consent ?? 0), 'consent refusals not counted').toBeGreaterThanOrEqual(tally.consentRefusals);
  expect(Number(consentRows), 'consent refusals kept in rejected_events').toBe(0);
  const duplicates = events.rows.length - storedCounts.size;
  expect(duplicates).toBe(0);
  return { stored: storedCounts.size, duplicates, lost: lost.length };
}

async function expectNothingFromForgedKeys(database: TestDatabase, runId: string): Promise<void> {
  const like = `forged-${runId}-%`;
  const stored = await sql<{ n: number }>`select count(*)::int8 as n from events where message_id like ${like}`.execute(database.db);
  const rejected = await sql<{ n: number }>`select count(*)::int8 as n from rejected_events where message_id like ${like} or payload like ${`%${like}`}`.execute(database.db);
  expect(Number(stored.rows[0]?.n)).toBe(0);
  expect(Number(rejected.rows[0]?.n)).toBe(0);
}

function tableOf(tally: Tally): string {
  return CATEGORIES.map((category) => {
    const counts = [...(tally.byCategory.get(category) ?? new Map<number, number>()).entries()].sort(([a], [b]) => a - b);
    return `  ${category.padEnd(20)} ${counts.map(([status, n]) => `${status === CLOSED ? 'closed' : status}×${n}`).join(' ')}`;
  }).join('\n');
}

describe('hostile input', () => {
  let database: TestDatabase & { url: string };
  let collector: CollectorProcess | undefined;

  beforeAll(async () => {
    database = await createFaultDatabase();
  });
  afterAll(async () => {
    collector?.kill('SIGKILL');
    await database?.close();
  });

  it(`answers ${IN_PROCESS.toLocaleString('en-US')} malformed or adversarial requests without a 5xx, storing nothing from forged keys and every rejection with its reason`, async () => {
    const app = createApp({ database, config, trackerScript: null, ...writerAndMetrics(database) });
    const runId = 'inproc';
    const next = hostileRequests({ seed: SEED, writeKey: FAULT_SOURCE.writeKey, runId });
    const tally = newTally();
    let issued = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (issued < IN_PROCESS) {
          issued += 1;
          const request = next();
          const response = await app.request(request.path, { method: 'POST', headers: request.headers, body: request.body });
          judge(tally, runId, request, response.status, await response.text());
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await app.writer.drain();
    console.log(`hostile input in-process: ${tally.requests} requests in ${seconds.toFixed(1)} s (seed ${SEED})\n${tableOf(tally)}`);

    expect(tally.failures).toEqual([]);
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.prototype).not.toHaveProperty('isAdmin');
    await expectNothingFromForgedKeys(database, runId);
    const check = await verifyDatabase(database, tally, runId);
    // SQL fragments are stored as the very text that was sent.
    const exact = await sql<{ n: number }>`select count(*)::int8 as n from events where message_id = any(${tally.sqlAccepted})`.execute(database.db);
    expect(Number(exact.rows[0]?.n)).toBe(tally.sqlAccepted.length);
    expect(tally.sqlAccepted.length).toBeGreaterThan(0);
    recordScenario({
      scenario: `hostile input, in-process (${tally.requests.toLocaleString('en-US')} requests)`,
      sent: tally.accepted.size,
      ...check,
      notes: `${tally.eventRejections.toLocaleString('en-US')} events rejected, kept in rejected_events or counted; 0 × 5xx`,
    });
  });

  it('survives hostile requests over real HTTP: broken framing, endless bodies, gzip bombs, huge headers', async () => {
    collector = await startCollector({ databaseUrl: database.url });
    const runId = 'http';
    const next = hostileRequests({ seed: SEED + 1, writeKey: FAULT_SOURCE.writeKey, runId });
    const tally = newTally();
    let issued = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (issued < OVER_HTTP) {
          issued += 1;
          const request = next();
          let response: Response;
          try {
            response = await fetch(`${collector!.url}${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
          } catch (error) {
            if (!closedOnTooLarge(request, error)) throw error;
            countAnswer(tally, request, CLOSED);
            continue;
          }
          judge(tally, runId, request, response.status, await response.text());
        }
      }),
    );
    expect(tally.failures).toEqual([]);

    const port = collector.port;
    const auth = `Authorization: Basic ${Buffer.from(`${FAULT_SOURCE.writeKey}:`).toString('base64')}\r\n`;
    const head = (extra: string) => `POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n${auth}${extra}\r\n`;
    const megabyte = 'x'.repeat(1024 * 1024);
    const bomb = gzipBomb(200);
    const framing: { what: string; parts: (string | Uint8Array)[]; allowed: (number | 'closed')[]; hangUp?: boolean }[] = [
      {
        what: 'an endless chunked body',
        parts: [head('Transfer-Encoding: chunked\r\n'), ...Array.from({ length: 20 }, () => `100000\r\n${megabyte}\r\n`)],
        allowed: [413, 'closed'],
      },
      { what: 'a Content-Length far past the limit', parts: [head('Content-Length: 50000000\r\n'), megabyte, megabyte], allowed: [413, 'closed'] },
      { what: 'a gzip bomb (200 MB of zeros)', parts: [head(`Content-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n`), bomb], allowed: [413] },
      { what: 'invalid UTF-8', parts: [head('Content-Length: 16\r\n'), Buffer.from([0x7b, 0x22, 0x62, 0xff, 0xfe, 0x22, 0x3a, 0x5b, 0x5d, 0x7d, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x20])], allowed: [400] },
      { what: 'a body shorter than its Content-Length, then a hang-up', parts: [head('Content-Length: 100\r\n'), '{"batch":['], allowed: ['closed', 400], hangUp: true },
      { what: 'a header of 100 KB', parts: [head(`X-Big: ${'a'.repeat(100_000)}\r\n`)], allowed: [431, 'closed'] },
      { what: 'not HTTP at all', parts: ['\u0000\u0001GARBAGE / NOPE\r\n\r\n'], allowed: [400, 'closed'] },
      { what: 'both Content-Length and chunked', parts: [head('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n'), '0\r\n\r\n'], allowed: [400, 'closed'] },
    ];
    const outcomes: string[] = [];
    for (const attempt of framing) {
      const began = performance.now();
      const { status } = await rawRequest(port, attempt.parts, { timeoutMs: 20_000, hangUp: attempt.hangUp ?? false });
      outcomes.push(`${attempt.what}: ${status} in ${Math.round(performance.now() - began)} ms`);
      expect(attempt.allowed, `${attempt.what} was answered ${status}`).toContain(status);
    }
    console.log(`hostile input over HTTP: ${tally.requests} fuzzed requests\n${tableOf(tally)}\n  ${outcomes.join('\n  ')}`);

    // Still the same process, still storing.
    expect(collector.child.exitCode).toBeNull();
    const healthy = await fetch(`${collector.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${FAULT_SOURCE.writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ batch: [{ type: 'track', event: 'Still Here', anonymousId: 'a', messageId: `fz-${runId}-999999999` }] }),
    });
    expect(healthy.status).toBe(200);
    expect(((await healthy.json()) as { accepted: number }).accepted).toBe(1);
    tally.accepted.add(`fz-${runId}-999999999`);

    await expectNothingFromForgedKeys(database, runId);
    const check = await verifyDatabase(database, tally, runId);
    recordScenario({
      scenario: `hostile input, real HTTP (${tally.requests.toLocaleString('en-US')} + ${framing.length} raw)`,
      sent: tally.accepted.size,
      ...check,
      notes: `${tally.eventRejections} events rejected, kept in rejected_events or counted; collector alive`,
    });
  });
});
