import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { writerAndMetrics } from '../support/collector-app.js';
import { FAULT_SOURCE } from './support/collector-process.js';
import { checkStored, createFaultDatabase } from './support/fault-database.js';
import { sendLoad } from './support/load-generator.js';
import { recordScenario } from './support/summary.js';
import type { TestDatabase } from '../support/test-database.js';

const EVENTS = 6_000;

describe('rate limits in front of the collector', () => {
  let database: TestDatabase & { url: string };
  let server: ServerType | undefined;

  beforeAll(async () => {
    database = await createFaultDatabase();
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await database?.close();
  });

  it('answers 429 with Retry-After past the per-address and per-key limits, and senders that honour it lose nothing', async () => {
    const collector = createApp({
      database,
      config: { sources: [{ ...FAULT_SOURCE, allowedOrigins: ['*'] }], trustProxy: 0, skewThresholdMs: 60_000, adminKey: undefined },
      trackerScript: null,
      rateLimit: { perIp: { ratePerSecond: 40, burst: 40 }, perWriteKey: { ratePerSecond: 60, burst: 60 } },
      ...writerAndMetrics(database),
    });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: collector.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const { port } = server.address() as AddressInfo;

    const run = sendLoad({
      url: `http://127.0.0.1:${port}`,
      writeKey: FAULT_SOURCE.writeKey,
      prefix: 'limited',
      totalEvents: EVENTS,
      batchSize: 20,
      senders: 12,
    });
    const report = await run.done;
    const check = await checkStored(database, FAULT_SOURCE.id, 'limited', report);
    recordScenario({
      scenario: 'rate-limited senders (40 req/s per address)',
      ...check,
      notes: `${report.statuses['429'] ?? 0} × 429, all with Retry-After; ${report.statuses['200'] ?? 0} × 200`,
    });

    expect(report.statuses['429'] ?? 0).toBeGreaterThan(0);
    expect(report.retryAfterAnswers).toBe(report.statuses['429']);
    expect(report.refused).toEqual([]);
    expect(report.acknowledged).toBe(EVENTS);
    expect(check).toEqual({ sent: EVENTS, stored: EVENTS, duplicates: 0, lost: 0, lostAcknowledged: 0, foreign: 0 });
    await collector.writer.drain();
  });
});
