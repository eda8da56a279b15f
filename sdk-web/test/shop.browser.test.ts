// @vitest-environment node
/**
 * The built script tag in Debian's Chromium against a real collector and database: SPA routes,
 * add to cart, identify, a link that leaves the page, the loader snippet, closing the page —
 * and the events table holds exactly the expected events, none twice. Then the same with the
 * collector down for the first attempts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '@tally/collector';
import { buildInMemory } from './build.js';
import { writerAndMetrics } from '../../collector/test/support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../../collector/test/support/test-database.js';

const CHROMIUM = '/usr/bin/chromium';
const WRITE_KEY = 'browser-suite-write-key';
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** The collector on a given port; `close()` stops it (the database stays). */
async function startCollector(database: TestDatabase, port: number, trackerScript: string) {
  const app = createApp({
    database,
    trackerScript,
    ...writerAndMetrics(database),
    config: {
      sources: [{ id: 'web', writeKey: WRITE_KEY, allowedOrigins: ['*'], consentMode: 'opt-out' }],
      trustProxy: 0,
      skewThresholdMs: 60_000,
      adminKey: 'browser-suite-admin-key',
    } as never,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    close: async () => {
      await new Promise<void>((r) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => r());
      });
      await app.writer.drain();
    },
  };
}

/** The shop's pages: `/` (and any SPA route), `/thanks.html`, `/tally.js`. */
async function startSite(collector: string, built: { tally: string; snippet: string }) {
  const fill = (html: string) =>
    html.replaceAll('__WRITE_KEY__', WRITE_KEY).replaceAll('__HOST__', collector).replace('__SNIPPET__', built.snippet);
  const server: Server = createServer((req, res) => {
    if (req.url == '/tally.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(built.tally);
    if (req.url == '/favicon.ico') return res.writeHead(404).end();
    const html = req.url == '/thanks.html' ? fixture('thanks.html') : fixture('shop.html');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(fill(html));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
}

const EXPECTED = [
  'page /',
  'page /products/mug',
  'track Product Added',
  'identify',
  'page /cart',
  'track Checkout Clicked',
  'page /thanks.html',
  'track Order Completed',
];

describe(`the script tag in Chromium against the collector on ${testEngine}`, () => {
  let browser: Browser;
  let built: { tally: string; snippet: string };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install -y chromium\``);
    const { files } = await buildInMemory(['tally.js', 'snippet.js']);
    built = { tally: files['tally.js']!, snippet: files['snippet.js']! };
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Runs the shopping session; returns once the page is closed. */
  async function shop(site: string, onPage?: (p: import('playwright-core').Page) => Promise<void>) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(site);
    await page.waitForFunction(() => typeof (window as { tally?: { user?: unknown } }).tally?.user == 'function');
    await page.click('#to-product');
    await page.click('#add');
    await page.click('#login');
    await page.click('#to-cart');
    await onPage?.(page);
    await Promise.all([page.waitForURL('**/thanks.html'), page.click('#checkout')]);
    await page.waitForFunction(() => typeof (window as { tally?: { user?: unknown } }).tally?.user == 'function');
    const anonymousId = await page.evaluate(() => (window as unknown as { tally: { user(): { anonymousId: string } } }).tally.user().anonymousId);
    await page.close({ runBeforeUnload: true });
    await context.close();
    expect(errors).toEqual([]);
    return anonymousId;
  }

  async function rows(database: TestDatabase, anonymousId: string, count: number) {
    const query = () =>
      database.db
        .selectFrom('events')
        .select(['message_id', 'type', 'event', 'path', 'anonymous_id', 'user_id', 'context'])
        .where('anonymous_id', '=', anonymousId)
        .orderBy('timestamp')
        .execute();
    await vi.waitFor(async () => expect((await query()).length).toBeGreaterThanOrEqual(count), { timeout: 30_000, interval: 200 });
    // a moment more, in which a duplicate would have arrived
    await new Promise((r) => setTimeout(r, 1500));
    return query();
  }

  const describeRow = (r: { type: string; event: string | null; path: string | null }) =>
    r.type == 'page' ? `page ${r.path}` : r.type == 'track' ? `track ${r.event}` : r.type;

  it('stores exactly the session’s events, once each, with both ids', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const collector = await startCollector(database, port, built.tally);
    const site = await startSite(`http://127.0.0.1:${port}`, built);
    try {
      const anonymousId = await shop(site.url);
      const stored = await rows(database, anonymousId, EXPECTED.length);
      expect(stored.map(describeRow).sort()).toEqual([...EXPECTED].sort());
      expect(new Set(stored.map((r) => r.message_id)).size).toBe(stored.length);
      const identified = stored.slice(stored.findIndex((r) => r.type == 'identify'));
      for (const r of identified) expect(r.user_id).toBe('user-42');
      for (const r of stored) expect(r.context).toMatchObject({ library: { name: '@tally/sdk-web' }, consent: { categoryPreferences: { analytics: true } } });
      const rejected = await database.db.selectFrom('rejected_events').selectAll().execute();
      expect(rejected).toEqual([]);
    } finally {
      await site.close();
      await collector.close();
      await database.close();
    }
  }, 120_000);

  it('with the collector down for the first attempts, the events arrive once it is back', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const site = await startSite(`http://127.0.0.1:${port}`, built);
    let collector: Awaited<ReturnType<typeof startCollector>> | undefined;
    try {
      const anonymousId = await shop(site.url, async (page) => {
        // Let a batch fail and be stored, then bring the collector up while the page is still open.
        await page.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith('tally_queue.')), undefined, { timeout: 15_000 });
        collector = await startCollector(database, port, built.tally);
      });
      const stored = await rows(database, anonymousId, EXPECTED.length);
      expect(stored.map(describeRow).sort()).toEqual([...EXPECTED].sort());
      expect(new Set(stored.map((r) => r.message_id)).size).toBe(stored.length);
    } finally {
      await site.close();
      await collector?.close();
      await database.close();
    }
  }, 120_000);
});
