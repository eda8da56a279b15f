import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, startCollector, type Database, type RunningCollector } from '@tally/collector';
import { endpointFile, MAX_SQL_BYTES, startSqlEndpoint, type EndpointInfo } from '../sql-endpoint.js';
import { createTestDatabase, testEngine } from './support/database.js';

interface Answer {
  status: number;
  body: { rows?: Record<string, unknown>[]; error?: string };
}

/** A raw HTTP request, so that Host and Origin can be what an attacker's page makes them. */
function send(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Answer['body'] }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe(`the SQL endpoint of pnpm start on ${testEngine}`, () => {
  let database: Database;
  let collector: RunningCollector;
  let endpoint: Awaited<ReturnType<typeof startSqlEndpoint>>;
  let info: EndpointInfo;
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-sql-endpoint-'));
  const marker = join(dataDir, 'program-ran');

  const query = (text: string, headers: Record<string, string> = {}) => send(info.url, text, { authorization: `Bearer ${info.token}`, ...headers });
  const countEvents = async () => Number((await database.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    database = await createTestDatabase();
    collector = await startCollector({ ...loadConfig({ TALLY_LOG_LEVEL: 'silent' }), port: 0 }, { database });
    endpoint = await startSqlEndpoint(database.db, dataDir);
    info = JSON.parse(readFileSync(endpointFile(dataDir), 'utf8')) as EndpointInfo;
  });
  afterAll(async () => {
    endpoint.close();
    await collector.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('its address and token are in a file only the owner can read (0600)', () => {
    expect(statSync(endpointFile(dataDir)).mode & 0o777).toBe(0o600);
    expect(info).toMatchObject({ url: endpoint.url, pid: process.pid, token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  });

  test('runs one read-only statement with the token', async () => {
    const answer = await query('-- how many\nselect 1 + 1 as two; /* done */');
    expect(answer).toMatchObject({ status: 200, body: { rows: [{ two: 2 }] } });
  });

  test('without the token, or with a wrong one, answers 401', async () => {
    expect((await send(info.url, 'select 1', {})).status).toBe(401);
    expect((await send(info.url, 'select 1', { authorization: 'Bearer not-the-token' })).status).toBe(401);
    expect((await send(info.url, 'select 1', { authorization: `Basic ${Buffer.from(`${info.token}:`).toString('base64')}` })).status).toBe(401);
  });

  test('a request from a web page on another origin (what a no-cors fetch sends) is refused, token or not', async () => {
    const page = { origin: 'https://evil.example', 'content-type': 'text/plain;charset=UTF-8', 'sec-fetch-mode': 'no-cors', 'sec-fetch-site': 'cross-site' };
    expect(await send(info.url, 'select 1', page)).toMatchObject({ status: 403, body: { error: /web pages/ } });
    expect((await query('select 1', { origin: 'null' })).status).toBe(403);
  });

  test('a Host other than its own loopback address (DNS rebinding) is refused', async () => {
    const port = new URL(info.url).port;
    for (const host of [`evil.example:${port}`, `localhost:${port}`, '127.0.0.1', `127.0.0.1:${Number(port) + 1}`]) {
      expect(await query('select 1', { host })).toMatchObject({ status: 403, body: { error: /Host/ } });
    }
  });

  test('one statement per request: several are refused and none of them runs', async () => {
    const before = await countEvents();
    for (const text of ['select 1; select 2', 'select 1; delete from events', "select ';'; delete from events", 'select $$;$$; delete from events']) {
      expect(await query(text)).toMatchObject({ status: 400, body: { error: /one statement/ } });
    }
    expect(await countEvents()).toBe(before);
  });

  test(`a body over ${MAX_SQL_BYTES.toLocaleString('en-US')} bytes is refused with 413`, async () => {
    const huge = `select '${'x'.repeat(MAX_SQL_BYTES)}'`;
    expect((await query(huge)).status).toBe(413);
  });

  test('COPY … PROGRAM, server files and the ways around them are refused, and no program runs', async () => {
    const attempts = [
      `copy (select 1) to program 'touch ${marker}'`,
      `COPY events TO '${marker}'`,
      `with x as (select 1) select * from x; copy (select 1) to program 'touch ${marker}'`,
      `do $$ begin execute 'copy (select 1) to program ''touch ${marker}'''; end $$`,
      `select query_to_xml('copy (select 1) to program ''touch ${marker}''', true, false, '')`,
      `select "pg_read_file"('/etc/passwd')`,
      "select pg_catalog.pg_read_binary_file('/etc/passwd')",
      "select * from pg_ls_dir('.')",
      `select lo_export(lo_from_bytea(0, 'x'), '${marker}')`,
      "select set_config('role', 'postgres', false)",
      "select ts_stat('select 1')",
      "select pg_advisory_lock(1)",
      "select U&\"\\0070g_read_file\"('/etc/passwd')",
    ];
    for (const text of attempts) {
      const answer = await query(text);
      expect(answer.status, text).toBe(400);
      // Refused by the check, before the engine saw it.
      expect(answer.body.error, text).toMatch(/not allowed|one statement|Unicode|runs read-only queries/);
    }
    expect(existsSync(marker)).toBe(false);
  });

  test('statements that write are refused: by their first word, or by the read-only transaction', async () => {
    const before = await countEvents();
    expect(await query('delete from events')).toMatchObject({ status: 400, body: { error: /read-only queries/ } });
    expect(await query('with gone as (delete from events returning 1) select count(*) from gone')).toMatchObject({ status: 400, body: { error: /read-only/ } });
    expect(await query('select 1 into temporary table stolen')).toMatchObject({ status: 400 });
    expect(await countEvents()).toBe(before);
  });

  test('after every attempt above, ingest still stores events and the endpoint reads them', async () => {
    const messageId = randomUUID();
    const response = await fetch(`${collector.url}/v1/track`, {
      method: 'POST',
      body: JSON.stringify({ writeKey: 'dev-write-key', messageId, anonymousId: randomUUID(), event: 'After Attacks' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    const rows = await database.db.selectFrom('events').select('event').where('message_id', '=', messageId).execute();
    expect(rows).toEqual([{ event: 'After Attacks' }]);
    expect((await query(`select event from events where message_id = '${messageId}'`)).body.rows).toEqual([{ event: 'After Attacks' }]);
  });
});
