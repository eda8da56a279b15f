import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_SOURCE, sleep, startCollector, type CollectorProcess } from './support/collector-process.js';
import { checkStored, createFaultDatabase } from './support/fault-database.js';
import { sendLoad } from './support/load-generator.js';
import { recordScenario } from './support/summary.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitUntil } from './support/wait.js';
import type { TestDatabase } from '../support/test-database.js';

const EVENTS = 60_000;

describe('Postgres connections cut in the middle of a load', () => {
  let database: TestDatabase & { url: string };
  let proxy: TcpProxy;
  let collector: CollectorProcess | undefined;

  beforeAll(async () => {
    database = await createFaultDatabase();
    const server = new URL(database.url);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
  });
  afterAll(async () => {
    collector?.kill('SIGKILL');
    await proxy?.close();
    await database?.close();
  });

  it('answers 503 with Retry-After while the database is away and recovers by itself, nothing lost or doubled', async () => {
    const proxied = new URL(database.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    collector = await startCollector({ databaseUrl: proxied.toString() });
    const pid = collector.pid;
    const run = sendLoad({
      url: collector.url,
      writeKey: FAULT_SOURCE.writeKey,
      prefix: 'pgcut',
      totalEvents: EVENTS,
      batchSize: [20, 100],
      senders: 8,
      eventsPerSecond: 6_000,
    });

    let unavailable = 0;
    for (const share of [0.25, 0.6]) {
      await waitUntil(() => run.acknowledged() >= EVENTS * share, `${share * 100}% acknowledged`);
      const before = run.statuses()['503'] ?? 0;
      proxy.cut();
      await sleep(4_000);
      unavailable += (run.statuses()['503'] ?? 0) - before;
      proxy.restore();
    }

    const report = await run.done;
    const check = await checkStored(database, FAULT_SOURCE.id, 'pgcut', report);
    recordScenario({
      scenario: 'Postgres connections cut ×2 (4 s each)',
      ...check,
      notes: `${report.statuses['503'] ?? 0} × 503 (${report.retryAfterAnswers} with Retry-After), ${proxy.connectionsRefused} connections refused`,
    });

    expect(report.refused).toEqual([]);
    expect(unavailable).toBeGreaterThan(0);
    expect(report.retryAfterAnswers).toBeGreaterThan(0);
    // A database outage is the server's trouble, answered 503, never a bare 500.
    expect(report.statuses['500'] ?? 0).toBe(0);
    expect(report.acknowledged).toBe(EVENTS);
    expect(check).toEqual({ sent: EVENTS, stored: EVENTS, duplicates: 0, lost: 0, lostAcknowledged: 0, foreign: 0 });
    // Recovery happened inside the same process.
    expect(collector.pid).toBe(pid);
    expect(collector.child.exitCode).toBeNull();
  });
});
