// @vitest-environment node
/**
 * A deny in Debian's Chromium against a real collector and database: after it, another page and
 * a reload of the site send nothing, and the browser keeps nothing but the decision. The events
 * table holds what was sent before the deny (opt-out) and the deny itself, attributed to no one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '@tally/collector';
import { buildInMemory } from './build.js';
import { writerAndMetrics } from '../../collector/test/support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../../collector/test/support/test-database.js';

const CHROMIUM = '/usr/bin/chromium';
const WRITE_KEY = 'consent-suite-write-key';
const html = readFileSync(new URL('./fixtures/consent.html', import.meta.url), 'utf8');

/** The collector on a free port (the site serves the tracker itself). */
async function startCollector(database: TestDatabase) {
  const app = createApp({
    database,
    trackerScript: null,
    ...writerAndMetrics(database),
    config: {
      sources: [{ id: 'web', writeKey: WRITE_KEY, allowedOrigins: ['*'], consentMode: 'opt-out' }],
      trustProxy: 0,
      skewThresholdMs: 60_000,
      adminKey: 'consent-suite-admin-key',
    } as never,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await new Promise<void>((r) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => r());
      });
      await app.writer.drain();
    },
  };
}

/** Every page of the site is the fixture in the given consent mode; `/tally.js` is the built tracker. */
async function startSite(collector: string, tally: string, mode: string) {
  const page = html.replaceAll('__WRITE_KEY__', WRITE_KEY).replaceAll('__HOST__', collector).replaceAll('__MODE__', mode);
  const server: Server = createServer((req, res) => {
    if (req.url == '/tally.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(tally);
    if (req.url == '/favicon.ico') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
}

const tracker = (page: Page) => page.waitForFunction(() => typeof (window as { tally?: { user?: unknown } }).tally?.user == 'function');

describe(`a deny in Chromium against the collector on ${testEngine}`, () => {
  let browser: Browser;
  let tally: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install -y chromium\``);
    tally = (await buildInMemory(['tally.js'])).files['tally.js']!;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  });

  it.each([
    { mode: 'opt-out', before: ['page'] },
    { mode: 'opt-in', before: [] },
  ])('$mode: after a deny, the next page and a reload store nothing; the deny is stored with no identifier', async ({ mode, before }) => {
    const database = await createTestDatabase();
    const collector = await startCollector(database);
    const site = await startSite(collector.url, tally, mode);
    const events = () =>
      database.db.selectFrom('events').select(['type', 'event', 'anonymous_id', 'user_id', 'customer_id']).orderBy('id').execute();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(site.url);
      await tracker(page);
      // Opt-out: the page view goes out before any decision.
      await vi.waitFor(async () => expect((await events()).map((e) => e.type)).toEqual(before), { timeout: 30_000, interval: 200 });
      const anonymousId = await page.evaluate(() => (window as unknown as { tally: { user(): { anonymousId: string } } }).tally.user().anonymousId);

      await page.click('#deny');
      await vi.waitFor(async () => expect((await events()).length).toBe(before.length + 1), { timeout: 30_000, interval: 200 });

      // Another page, then a reload: each records a page view and a purchase with a login.
      await Promise.all([page.waitForURL('**/next.html'), page.click('#next')]);
      await tracker(page);
      await page.click('#buy');
      await page.reload();
      await tracker(page);
      await page.click('#buy');
      const kept = await page.evaluate(() => ({ storage: Object.keys(localStorage), cookies: document.cookie }));
      const state = await page.evaluate(() => (window as unknown as { tally: { consent(): unknown } }).tally.consent());
      // Longer than the flush interval, then the page goes (its last chance to send).
      await new Promise((r) => setTimeout(r, 2500));
      await page.close({ runBeforeUnload: true });
      await context.close();
      await new Promise((r) => setTimeout(r, 1500));

      expect(errors).toEqual([]);
      expect(await events()).toEqual([
        ...before.map((type) => ({ type, event: null, anonymous_id: anonymousId, user_id: null, customer_id: expect.any(String) })),
        { type: 'track', event: 'Consent Updated', anonymous_id: null, user_id: null, customer_id: null },
      ]);
      expect(state).toMatchObject({ decided: true, categoryPreferences: { necessary: true, analytics: false, marketing: false } });
      expect(kept).toEqual({ storage: ['tally_consent'], cookies: '' });
    } finally {
      await site.close();
      await collector.close();
      await database.close();
    }
  }, 120_000);
});
