import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_SOURCE, startCollector, type CollectorProcess } from './support/collector-process.js';
import { checkStored, createFaultDatabase } from './support/fault-database.js';
import { sendLoad } from './support/load-generator.js';
import { recordScenario } from './support/summary.js';
import type { TestDatabase } from '../support/test-database.js';

const EVENTS = Number(process.env.TALLY_SOAK_EVENTS ?? 2_000_000);
/** Offered rate in events per second; the collector's sustained rate is printed beside it. */
const RATE = Number(process.env.TALLY_SOAK_RATE ?? 6_000);

describe('soak', () => {
  let database: TestDatabase & { url: string };
  let collector: CollectorProcess | undefined;

  beforeAll(async () => {
    database = await createFaultDatabase();
  });
  afterAll(async () => {
    collector?.kill('SIGKILL');
    await database?.close();
  });

  it(`stores ${EVENTS.toLocaleString('en-US')} events at a steady rate exactly once, with the collector's memory flat`, async () => {
    collector = await startCollector({ databaseUrl: database.url });
    const process = collector;
    const samples: { at: number; acked: number; rssKiB: number }[] = [];
    const run = sendLoad({
      url: collector.url,
      writeKey: FAULT_SOURCE.writeKey,
      prefix: 'soak',
      totalEvents: EVENTS,
      batchSize: [20, 100],
      senders: 24,
      eventsPerSecond: RATE,
      windowMs: 30_000,
      deadlineMs: 3_600_000,
    });
    const started = performance.now();
    const sampler = setInterval(() => {
      samples.push({ at: (performance.now() - started) / 1000, acked: run.acknowledged(), rssKiB: process.rssKiB() });
    }, 2_000);
    const report = await run.done;
    clearInterval(sampler);
    samples.push({ at: (performance.now() - started) / 1000, acked: run.acknowledged(), rssKiB: process.rssKiB() });

    // Start: once a tenth is through (past start-up and JIT warm-up); middle: half; end: all.
    const at = (share: number) => samples.find((sample) => sample.acked >= EVENTS * share) ?? samples[samples.length - 1]!;
    const start = at(0.1);
    const middle = at(0.5);
    const end = samples[samples.length - 1]!;
    const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
    const seconds = report.durationMs / 1000;
    const check = await checkStored(database, FAULT_SOURCE.id, 'soak', report);
    console.log(
      [
        `soak: ${report.acknowledged.toLocaleString('en-US')} events in ${seconds.toFixed(0)} s = ${Math.round(report.acknowledged / seconds).toLocaleString('en-US')} events/s (offered ${RATE.toLocaleString('en-US')}/s)`,
        `collector RSS: start ${mib(start.rssKiB)} (at ${start.at.toFixed(0)} s), middle ${mib(middle.rssKiB)} (at ${middle.at.toFixed(0)} s), end ${mib(end.rssKiB)} (at ${end.at.toFixed(0)} s)`,
        'latency per 30 s window (from s: requests, p50, p99):',
        ...report.latencyWindows.map((w) => `  ${String(w.fromSeconds).padStart(5)} s: ${String(w.requests).padStart(6)}  p50 ${w.p50Ms} ms  p99 ${w.p99Ms} ms`),
        `answers: ${JSON.stringify(report.statuses)}`,
      ].join('\n'),
    );
    recordScenario({
      scenario: `soak ${EVENTS.toLocaleString('en-US')} events`,
      ...check,
      notes: `${Math.round(report.acknowledged / seconds)} ev/s; RSS ${mib(start.rssKiB)} → ${mib(middle.rssKiB)} → ${mib(end.rssKiB)}`,
    });

    expect(report.refused).toEqual([]);
    expect(report.acknowledged).toBe(EVENTS);
    expect(check).toEqual({ sent: EVENTS, stored: EVENTS, duplicates: 0, lost: 0, lostAcknowledged: 0, foreign: 0 });
    // Flat memory: the second half of the run adds no more than a quarter (and 64 MiB of
    // slack for the collector's heap sizing) to what the first half ended with.
    expect(end.rssKiB).toBeLessThanOrEqual(Math.max(middle.rssKiB * 1.25, middle.rssKiB + 64 * 1024));
  });
});
