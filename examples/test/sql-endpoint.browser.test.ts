/**
 * The SQL endpoint of `pnpm start` against Debian's Chromium: a page on another origin and a
 * page served under a rebound host name both try to reach it, and it runs nothing for them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '@tally/collector';
import { endpointFile, startSqlEndpoint, type EndpointInfo } from '../sql-endpoint.js';
import { createTestDatabase, testEngine } from './support/database.js';

const CHROMIUM = '/usr/bin/chromium';

describe(`the SQL endpoint of pnpm start against Chromium on ${testEngine}`, () => {
  let database: Database;
  let endpoint: Awaited<ReturnType<typeof startSqlEndpoint>>;
  let info: EndpointInfo;
  let browser: Browser;
  let attacker: Server;
  let attackerPort: number;
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-sql-browser-'));
  /** Every request the endpoint answered: its status and the Origin and Host it came with. */
  const seen: { status: number; origin: string | undefined; host: string | undefined }[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install -y chromium\``);
    database = await createTestDatabase();
    await database.db.schema.createTable('sql_endpoint_probe').addColumn('n', 'integer').execute();
    endpoint = await startSqlEndpoint(database.db, dataDir);
    info = JSON.parse(readFileSync(endpointFile(dataDir), 'utf8')) as EndpointInfo;
    endpoint.server.on('request', (request, response) => {
      response.on('finish', () => seen.push({ status: response.statusCode, origin: request.headers.origin, host: request.headers.host }));
    });
    attacker = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>a page on another origin</title>');
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', () => resolve()));
    attackerPort = (attacker.address() as AddressInfo).port;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // rebound.test resolves to 127.0.0.1, as an attacker's name does after DNS rebinding.
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--host-resolver-rules=MAP rebound.test 127.0.0.1'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    attacker?.close();
    endpoint?.close();
    await database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a no-cors fetch from a page on another origin, token or not, is answered 403', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${attackerPort}/`);
    seen.length = 0;
    // A page cannot know the token; even with it, the request is refused for its Origin.
    const outcome = await page.evaluate(
      async ({ url, token }) => {
        await fetch(url, { method: 'POST', mode: 'no-cors', body: 'select 1' });
        await fetch(url, { method: 'POST', mode: 'no-cors', body: 'select 1', headers: { authorization: `Bearer ${token}` } });
        return 'sent';
      },
      { url: info.url, token: info.token },
    );
    expect(outcome).toBe('sent');
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const request of seen) expect(request).toMatchObject({ status: 403, origin: `http://127.0.0.1:${attackerPort}` });
    await page.close();
  });

  test('a page served under a rebound host name is answered 403, even holding the token', async () => {
    const page = await browser.newPage();
    const port = new URL(info.url).port;
    // The page's origin is now rebound.test on the endpoint's own port: its requests are same-origin.
    await page.goto(`http://rebound.test:${port}/`);
    seen.length = 0;
    const statuses = await page.evaluate(async (token) => {
      const answer = await fetch('/sql', { method: 'POST', body: 'select count(*) from sql_endpoint_probe', headers: { authorization: `Bearer ${token}` } });
      return [answer.status];
    }, info.token);
    expect(statuses).toEqual([403]);
    expect(seen.at(-1)).toMatchObject({ status: 403, host: `rebound.test:${port}` });
    await page.close();
  });
});
