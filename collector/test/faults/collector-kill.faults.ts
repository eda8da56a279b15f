import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_SOURCE, sleep, startCollector, type CollectorProcess } from './support/collector-process.js';
import { checkStored, createFaultDatabase } from './support/fault-database.js';
import { sendLoad } from './support/load-generator.js';
import { recordScenario } from './support/summary.js';
import { waitUntil } from './support/wait.js';
import type { TestDatabase } from '../support/test-database.js';

const EVENTS = 60_000;

describe('the collector killed with SIGKILL under sustained load', () => {
  let database: TestDatabase & { url: string };
  let collector: CollectorProcess | undefined;

  beforeAll(async () => {
    database = await createFaultDatabase();
  });
  afterAll(async () => {
    collector?.kill('SIGKILL');
    await database?.close();
  });

  it('loses nothing acknowledged and stores nothing twice once senders have retried into the restarted collector', async () => {
    collector = await startCollector({ databaseUrl: database.url });
    const { port, url } = collector;
    const run = sendLoad({
      url,
      writeKey: FAULT_SOURCE.writeKey,
      prefix: 'sigkill',
      totalEvents: EVENTS,
      batchSize: [20, 100],
      senders: 8,
      eventsPerSecond: 6_000,
    });

    for (const share of [0.25, 0.6]) {
      await waitUntil(() => run.acknowledged() >= EVENTS * share, `${share * 100}% acknowledged`);
      collector.kill('SIGKILL');
      expect((await collector.exited).signal).toBe('SIGKILL');
      // Down for a moment, as under a supervisor's restart delay.
      await sleep(300);
      collector = await startCollector({ databaseUrl: database.url, port });
    }

    const report = await run.done;
    const check = await checkStored(database, FAULT_SOURCE.id, 'sigkill', report);
    recordScenario({
      scenario: 'collector SIGKILL ×2 under load',
      ...check,
      notes: `${report.statuses.network ?? 0} network errors, ${report.retries} retries`,
    });

    expect(report.refused).toEqual([]);
    expect(report.acknowledged).toBe(EVENTS);
    // The kills were felt by the senders: some requests died with the process.
    expect(report.statuses.network ?? 0).toBeGreaterThan(0);
    expect(check).toEqual({ sent: EVENTS, stored: EVENTS, duplicates: 0, lost: 0, lostAcknowledged: 0, foreign: 0 });
  });
});
