import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createGroupCommitWriter, WriterClosedError } from '../src/ingest/group-commit-writer.js';
import { enrichEvent } from '../src/ingest/enrich.js';
import { basic, shop, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const collectorDir = fileURLToPath(new URL('..', import.meta.url));

describe(`graceful shutdown on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  test('drain() commits everything already queued, then refuses new writes', async () => {
    const writer = createGroupCommitWriter({ db: database.db, connections: 1 });
    const request = { receivedAt: new Date(), ip: undefined, userAgent: undefined };
    const events = Array.from({ length: 30 }, () => enrichEvent(trackEvent(), request, { sourceId: 'shop', skewThresholdMs: 60_000 }));
    const writes = events.map((event) => writer.write({ events: [event], rejected: [] }));
    expect(writer.queueDepth).toBe(30);
    await writer.drain();
    const results = await Promise.all(writes);
    expect(results.every((r) => r.accepted === 1)).toBe(true);
    expect(writer.queueDepth).toBe(0);
    const stored = await database.db.selectFrom('events').select('id').where('message_id', 'in', events.map((e) => e.message_id)).execute();
    expect(stored).toHaveLength(30);
    await expect(writer.write({ events: [events[0]!], rejected: [] })).rejects.toBeInstanceOf(WriterClosedError);
  });

  test('the tally-collector command serves from its environment and exits cleanly on SIGTERM', async () => {
    const env = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      TALLY_SOURCES: JSON.stringify([shop]),
      ...(database.url ? { DATABASE_URL: database.url } : { TALLY_DATA_DIR: 'memory://' }),
    };
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/server.ts'], { cwd: collectorDir, env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const look = () => {
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      };
      child.stdout.on('data', look);
      void exited.then(() => reject(new Error(`the collector exited before listening:\n${output}`)));
    });

    const events = Array.from({ length: 5 }, () => trackEvent());
    const res = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basic(shop.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch: events }),
    });
    expect(await res.json()).toEqual({ accepted: 5, duplicates: 0, rejected: [] });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('SIGTERM: finishing queued writes');
  });

  test('a bad configuration stops the command with a message naming the field', async () => {
    const env = { ...process.env, TALLY_SOURCES: '[{"id":"shop","writeKey":"short"}]' };
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/server.ts'], { cwd: collectorDir, env });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(output).toContain('TALLY_SOURCES: sources[0].writeKey');
  });
});
