import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDatabase } from '../src/db/database.js';
import { createGroupCommitWriter, WriterClosedError } from '../src/ingest/group-commit-writer.js';
import { enrichEvent } from '../src/ingest/enrich.js';
import { basic, shop, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const collectorDir = fileURLToPath(new URL('..', import.meta.url));

/** `tally-collector` (src/server.ts) in a child process on the test database, once it listens. */
async function startCommand(database: TestDatabase, extra: Record<string, string>) {
  const env = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    TALLY_SOURCES: JSON.stringify([shop]),
    TALLY_RATE_LIMIT_IP_RPS: '0',
    ...(database.url ? { DATABASE_URL: database.url } : { TALLY_DATA_DIR: 'memory://' }),
    ...extra,
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
  return { child, url, exited, output: () => output };
}

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
    const command = await startCommand(database, { TALLY_WORKERS: '1' });

    const events = Array.from({ length: 5 }, () => trackEvent());
    const res = await fetch(`${command.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basic(shop.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch: events }),
    });
    expect(await res.json()).toEqual({ accepted: 5, duplicates: 0, rejected: [] });

    command.child.kill('SIGTERM');
    expect(await command.exited).toBe(0);
    expect(command.output()).toContain('SIGTERM: finishing queued writes');
  });

  const several = testEngine === 'postgres'
    ? 'with TALLY_WORKERS=3 three processes serve, /metrics counts them all, and SIGTERM drains them all: every acknowledged event is stored, once'
    : 'with TALLY_WORKERS=3 the embedded engine is served by one process, which drains on SIGTERM: every acknowledged event is stored, once';
  test(several, async () => {
    // On the embedded engine the command opens a data directory of its own, read back below.
    const dataDir = database.url ? undefined : await mkdtemp(join(tmpdir(), 'tally-workers-'));
    const command = await startCommand(database, { TALLY_WORKERS: '3', ...(dataDir && { TALLY_DATA_DIR: dataDir }) });
    const prefix = `workers-${Date.now()}`;
    let acknowledged = 0;
    let sent = 0;
    // Many connections at once (the primary hands them to the workers in turn); once the first
    // answers are in, SIGTERM arrives while others are still in flight.
    const send = async () => {
      const batch = Array.from({ length: 20 }, () => trackEvent({ messageId: `${prefix}-${sent++}` }));
      try {
        const res = await fetch(`${command.url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: basic(shop.writeKey), 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ batch }),
        });
        if (res.status === 200) acknowledged += ((await res.json()) as { accepted: number }).accepted;
        else await res.body?.cancel();
      } catch {
        // Refused or cut off by the stop: not acknowledged, so the sender would retry it.
      }
    };
    await Promise.all(Array.from({ length: 30 }, send));
    // Whichever worker answers /metrics counts every worker's events.
    const metrics = await (await fetch(`${command.url}/metrics`)).text();
    expect(Number(/^tally_events_accepted_total\{source="shop"\} (\d+)$/m.exec(metrics)?.[1]), metrics.slice(0, 500)).toBe(acknowledged);
    const inFlight = Promise.all(Array.from({ length: 30 }, send));
    command.child.kill('SIGTERM');
    await inFlight;
    expect(await command.exited, command.output()).toBe(0);

    const lines = command
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; status?: number; worker?: number });
    const served = new Set(lines.filter((line) => line.msg === 'request' && line.status === 200).map((line) => line.worker));
    const drained = lines.filter((line) => line.msg === 'SIGTERM: finishing queued writes').map((line) => line.worker);
    if (testEngine === 'postgres') {
      expect(lines.map((line) => line.msg)).toContain('SIGTERM: finishing queued writes in 3 workers');
      expect(served, command.output()).toEqual(new Set([1, 2, 3]));
      expect(drained.sort(), command.output()).toEqual([1, 2, 3]);
    } else {
      expect(served).toEqual(new Set([undefined]));
      expect(drained).toEqual([undefined]);
    }
    const stored = dataDir ? await createDatabase({ dataDir }) : database;
    try {
      const { n } = await stored.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('message_id', 'like', `${prefix}-%`).executeTakeFirstOrThrow();
      expect(acknowledged).toBeGreaterThanOrEqual(600);
      expect(Number(n)).toBe(acknowledged);
    } finally {
      if (dataDir) {
        await stored.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    }
  }, 180_000);

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
