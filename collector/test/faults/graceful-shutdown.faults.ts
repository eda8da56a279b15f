import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_SOURCE, startCollector, type CollectorProcess } from './support/collector-process.js';
import { checkStored, createFaultDatabase } from './support/fault-database.js';
import { sendLoad } from './support/load-generator.js';
import { recordScenario } from './support/summary.js';
import { waitUntil } from './support/wait.js';
import type { TestDatabase } from '../support/test-database.js';

const EVENTS = 40_000;

describe('SIGTERM during load', () => {
  let database: TestDatabase & { url: string };
  let collector: CollectorProcess | undefined;

  beforeAll(async () => {
    database = await createFaultDatabase();
  });
  afterAll(async () => {
    collector?.kill('SIGKILL');
    await database?.close();
  });

  it('commits everything it acknowledged before exiting 0, and the rest arrives once after the restart', async () => {
    collector = await startCollector({ databaseUrl: database.url });
    const { port, url } = collector;
    const run = sendLoad({
      url,
      writeKey: FAULT_SOURCE.writeKey,
      prefix: 'sigterm',
      totalEvents: EVENTS,
      batchSize: [20, 100],
      senders: 12,
    });

    await waitUntil(() => run.acknowledged() >= EVENTS * 0.4, '40% acknowledged');
    collector.kill('SIGTERM');
    const exit = await collector.exited;
    // Everything acknowledged up to the exit, including answers to requests that were in
    // flight when the signal came, is on disk now, with no collector running.
    const atExit = await checkStored(database, FAULT_SOURCE.id, 'sigterm', {
      generated: run.generated(),
      ackedAt: run.ackedAt,
    });
    const ackedAtExit = run.acknowledged();

    collector = await startCollector({ databaseUrl: database.url, port });
    const report = await run.done;
    const check = await checkStored(database, FAULT_SOURCE.id, 'sigterm', report);
    recordScenario({
      scenario: 'collector SIGTERM under load',
      ...check,
      notes: `exit code ${exit.code}; ${ackedAtExit.toLocaleString('en-US')} acked before exit, all stored`,
    });

    expect(exit).toEqual({ code: 0, signal: null });
    expect(atExit.lostAcknowledged).toBe(0);
    expect(atExit.duplicates).toBe(0);
    expect(atExit.stored).toBeGreaterThanOrEqual(ackedAtExit);
    expect(report.refused).toEqual([]);
    expect(report.acknowledged).toBe(EVENTS);
    expect(check).toEqual({ sent: EVENTS, stored: EVENTS, duplicates: 0, lost: 0, lostAcknowledged: 0, foreign: 0 });
  });
});
