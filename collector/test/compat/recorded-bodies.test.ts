import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backend, basic, shop, testApp } from '../support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../support/test-database.js';
import { type ExpectedRow, expectStoredRows } from './support/stored-events.js';

/**
 * A request body as an SDK that cannot run here sends it, written by us from that SDK's
 * documented format, with how it is sent and the `events` rows it must become.
 */
interface RecordedBody {
  file: string;
  sdk: string;
  notes: string;
  /** `server` for a server SDK (a secret key, the only kind that may alias), `client` for a mobile one. */
  request: { source: 'client' | 'server'; path: string; auth: 'basic' | 'body'; gzip: boolean; contentType: string; userAgent: string; receivedAt: string };
  body: Record<string, unknown>;
  stored: ExpectedRow[];
}

const folder = new URL('./recorded/', import.meta.url);
const recorded: RecordedBody[] = readdirSync(folder)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((file) => ({ file, ...(JSON.parse(readFileSync(new URL(file, folder), 'utf8')) as Omit<RecordedBody, 'file'>) }));

describe(`recorded bodies of SDKs that cannot run here, sent as each sends them, on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test.each(recorded)('$sdk ($file): every event stored, row by row', async ({ request, body, stored }) => {
    const app = testApp(database, { now: () => new Date(request.receivedAt) });
    const source = request.source === 'server' ? backend : shop;
    const json = JSON.stringify(request.auth === 'body' ? { ...body, writeKey: source.writeKey } : body);
    const headers: Record<string, string> = { 'content-type': request.contentType, 'user-agent': request.userAgent };
    if (request.auth === 'basic') headers.authorization = basic(source.writeKey);
    if (request.gzip) headers['content-encoding'] = 'gzip';
    const res = await app.request(request.path, { method: 'POST', headers, body: request.gzip ? gzipSync(json) : json });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: stored.length, duplicates: 0, rejected: [] });
    await expectStoredRows(database, stored);
  });

  test('cover Android 4.x on /v1/import, iOS, Ruby with integer ids, Python, Go and RudderStack Android', () => {
    expect(recorded.map((r) => r.file)).toEqual([
      'analytics-android-4.json',
      'analytics-go.json',
      'analytics-ios.json',
      'analytics-python.json',
      'analytics-ruby.json',
      'rudder-android.json',
    ]);
  });
});
