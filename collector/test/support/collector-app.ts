import { expect } from 'vitest';
import type { AppConfig } from '../../src/app-context.js';
import { createApp, type AppDeps } from '../../src/app.js';
import type { Source } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { createGroupCommitWriter, type EventWriter } from '../../src/ingest/group-commit-writer.js';
import { rejectedUsageToday } from '../../src/db/rejected-usage.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import type { TestDatabase } from './test-database.js';

export const shop: Source = {
  id: 'shop',
  writeKey: 'shop-write-key',
  allowedOrigins: ['https://shop.example'],
  consentMode: 'opt-out',
  kind: 'client',
};

export const newsletter: Source = {
  id: 'newsletter',
  writeKey: 'newsletter-write-key',
  allowedOrigins: ['https://news.example'],
  consentMode: 'opt-in',
  kind: 'client',
};

/** The shop's back end: a server source (secret key), the only kind that may send `alias`. */
export const backend: Source = {
  id: 'backend',
  writeKey: 'backend-secret-write-key',
  allowedOrigins: [],
  consentMode: 'opt-out',
  kind: 'server',
};

/** An app whose userIds count only when signed by its server (`context.userHash`). */
export const verifiedApp: Source = {
  id: 'app',
  writeKey: 'app-write-key',
  allowedOrigins: ['https://app.example'],
  consentMode: 'opt-out',
  kind: 'client',
  identitySecret: 'app-identity-secret-for-tests',
};

export const testConfig: AppConfig = {
  sources: [shop, newsletter, backend, verifiedApp],
  trustProxy: 1,
  skewThresholdMs: 60_000,
  adminKey: 'admin-key-for-tests',
};

/** A group-commit writer over the test database and the metrics it reports to, as `startCollector` builds them. */
export function writerAndMetrics(database: Database): { writer: EventWriter; metrics: Metrics } {
  const writer = createGroupCommitWriter({
    db: database.db,
    connections: database.engine === 'pglite' ? 1 : 2,
    onFlush: (stats) => metrics.recordFlush(stats),
  });
  const metrics = createMetrics(() => writer.queueDepth, { rejectedUsage: () => rejectedUsageToday(database.db) });
  return { writer, metrics };
}

/** The collector app over a test database, with the test sources. */
export function testApp(database: TestDatabase, overrides: Partial<AppDeps> = {}) {
  const built = overrides.writer && overrides.metrics ? { writer: overrides.writer, metrics: overrides.metrics } : writerAndMetrics(overrides.database ?? database);
  return createApp({ database, config: testConfig, trackerScript: null, ...overrides, writer: overrides.writer ?? built.writer, metrics: overrides.metrics ?? built.metrics });
}

export function basic(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

let counter = 0;

/** A valid track event with a fresh messageId. */
export function trackEvent(fields: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    type: 'track',
    event: 'Signed Up',
    messageId: `msg-${process.pid}-${Date.now()}-${counter}`,
    anonymousId: `anon-${counter}`,
    timestamp: new Date().toISOString(),
    properties: { plan: 'pro' },
    ...fields,
  };
}

export function postJson(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * Sends `events` as one batch through a whole app over `database` and returns once they are
 * stored (draining ends that app's writer); every event must be accepted.
 */
export async function storeBatch(database: TestDatabase, events: readonly Record<string, unknown>[], writeKey = shop.writeKey): Promise<void> {
  const app = testApp(database);
  const res = await postJson(app, '/v1/batch', { batch: events }, { authorization: basic(writeKey) });
  const answer = await res.json();
  expect(answer, JSON.stringify(answer)).toMatchObject({ accepted: events.length });
  await app.writer.drain();
}
