import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { startCollector, type RunningCollector } from '../src/start.js';
import { shop, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

/** What a raw socket got back before the server closed it. */
function exchange(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const closed = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(received));
    socket.on('error', () => {});
  });
  const opened = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, opened, isClosed: () => socket.destroyed };
}

/** Writes `text` one byte every `everyMs` until the socket closes; the number of bytes written. */
async function trickle(socket: Socket, text: string, everyMs: number): Promise<number> {
  let sent = 0;
  for (const byte of text) {
    if (socket.destroyed || socket.writableEnded) break;
    socket.write(byte);
    sent += 1;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return sent;
}

describe(`server limits over a real socket on ${testEngine}`, () => {
  let database: TestDatabase;
  let collector: RunningCollector;
  beforeAll(async () => {
    database = await createTestDatabase();
    const config = loadConfig({
      PORT: '0',
      TALLY_SOURCES: JSON.stringify([shop]),
      TALLY_HEADERS_TIMEOUT_MS: '400',
      TALLY_REQUEST_TIMEOUT_MS: '800',
      TALLY_MAX_CONNECTIONS: '3',
      TALLY_RATE_LIMIT_IP_RPS: '0',
    });
    collector = await startCollector(config, { database, logger: silentLogger });
  });
  afterAll(async () => {
    await collector.close();
    await database.close();
  });

  test('a body trickled one byte at a time is cut off with 408 once the request timeout passes, long before it is complete', async () => {
    const body = JSON.stringify({ batch: [trackEvent()], writeKey: shop.writeKey });
    const { socket, closed, opened } = exchange(collector.port);
    await opened;
    socket.write(`POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`);
    const sent = trickle(socket, body, 50);
    const answer = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(await sent).toBeLessThan(body.length);
  });

  test('headers sent one byte at a time are cut off with 408 once the headers timeout passes', async () => {
    const { socket, closed, opened } = exchange(collector.port);
    await opened;
    const headers = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(400)}\r\n\r\n`;
    const sent = trickle(socket, headers, 20);
    const answer = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(await sent).toBeLessThan(headers.length);
  });

  test('connections past the cap are closed as they arrive, and the collector still stores events afterwards', async () => {
    const held = [exchange(collector.port), exchange(collector.port), exchange(collector.port)];
    await Promise.all(held.map((connection) => connection.opened));
    // Let the server accept the three before the fourth arrives.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const extra = exchange(collector.port);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await extra.closed).toBe('');
    for (const connection of held) connection.socket.destroy();
    await Promise.all(held.map((connection) => connection.closed));
    await new Promise((resolve) => setTimeout(resolve, 50));

    const event = trackEvent();
    const res = await fetch(`${collector.url}/v1/batch`, { method: 'POST', body: JSON.stringify({ batch: [event], writeKey: shop.writeKey }) });
    expect(res.status).toBe(200);
    const rows = await database.db.selectFrom('events').select('message_id').where('message_id', '=', event.messageId as string).execute();
    expect(rows).toHaveLength(1);
  });
});
