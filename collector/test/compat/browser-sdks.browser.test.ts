import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Source } from '../../src/config.js';
import { testApp, testConfig } from '../support/collector-app.js';
import { serveOnFreePort } from '../support/served-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../support/test-database.js';
import { expectStoredRows } from './support/stored-events.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url));
/** The npm-built bundles, served by the site as a CDN would serve them. */
const BUNDLES = {
  segment: realpathSync(join(modules, '@segment/analytics-next/dist/umd')),
  rudderstack: realpathSync(join(modules, '@rudderstack/analytics-js/dist/npm/modern/bundled/esm')),
};

const site: Source = { id: 'site', writeKey: 'site-write-key', allowedOrigins: [], consentMode: 'opt-out', kind: 'client' };

function page(title: string, head: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${head}</head><body>${title}</body></html>`;
}

/** The shop's site: its pages, and the SDK bundles from node_modules under /cdn/. */
async function startSite(pages: Record<string, () => string>): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    for (const [name, root] of Object.entries(BUNDLES)) {
      const prefix = `/cdn/${name}/`;
      if (!url.pathname.startsWith(prefix)) continue;
      const file = normalize(join(root, url.pathname.slice(prefix.length)));
      if (!file.startsWith(root) || !existsSync(file)) return res.writeHead(404).end();
      return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
    }
    const html = pages[url.pathname];
    if (!html) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe(`browser SDKs from npm in Chromium, CDN and API hosts pointed at the collector, on ${testEngine}`, () => {
  let database: TestDatabase;
  let collector: Awaited<ReturnType<typeof serveOnFreePort>>;
  let shopSite: { origin: string; server: Server };
  let browser: Browser;
  /** Every request the pages made to anything but the site and the collector (each is refused). */
  const outside: string[] = [];
  const collectorRequests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install -y chromium\``);
    database = await createTestDatabase();
    shopSite = await startSite({
      '/segment.html': () =>
        page(
          'analytics-next',
          `<script>
            window.analytics = [];
            window.analytics._writeKey = ${JSON.stringify(site.writeKey)};
            window.analytics._cdn = ${JSON.stringify(collector.url)};
            window.analytics._loadOptions = { integrations: { 'Segment.io': { apiHost: ${JSON.stringify(`${new URL(collector.url).host}/v1`)}, protocol: 'http' } } };
          </script>
          <script src="/cdn/segment/standalone.js"></script>`,
        ),
      '/rudderstack.html': () =>
        page(
          'analytics-js',
          `<script type="module">
            import { RudderAnalytics } from '/cdn/rudderstack/index.mjs';
            const rudderanalytics = new RudderAnalytics();
            rudderanalytics.load(${JSON.stringify(site.writeKey)}, ${JSON.stringify(collector.url)}, {
              configUrl: ${JSON.stringify(collector.url)},
              logLevel: 'ERROR',
            });
            window.rudderanalytics = rudderanalytics;
          </script>`,
        ),
    });
    site.allowedOrigins = [shopSite.origin];
    collector = await serveOnFreePort(testApp(database, { config: { ...testConfig, sources: [site] } }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (shopSite ? shopSite.server.close(() => resolve()) : resolve()));
    await collector?.close();
    await database?.close();
  });

  async function open(path: string): Promise<Page> {
    const context = await browser.newContext();
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(shopSite.origin) || url.startsWith(collector.url)) return route.continue();
      outside.push(url);
      return route.abort();
    });
    const tab = await context.newPage();
    tab.on('response', (response) => {
      if (response.url().startsWith(collector.url)) collectorRequests.push(`${response.request().method()} ${response.url().slice(collector.url.length)} ${response.status()}`);
    });
    tab.on('console', (message) => {
      if (message.type() === 'error') console.log(`[${path}] ${message.text()}`);
    });
    await tab.goto(`${shopSite.origin}${path}`);
    return tab;
  }

  /** The stored rows of one SDK's library, once `count` of them arrived, by type. */
  async function rowsByType(count: number, library: string) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const rows = await database.db.selectFrom('events').selectAll().where('source_id', '=', site.id).execute();
      const ours = rows.filter((row) => (row.context as { library?: { name?: string } }).library?.name === library);
      if (ours.length >= count) return new Map(ours.map((row) => [row.type, row]));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`fewer than ${count} events from ${library} arrived`);
  }

  test('@segment/analytics-next: settings from the collector, track, page and identify stored row by row', async () => {
    const tab = await open('/segment.html');
    await tab.waitForFunction(() => (globalThis as unknown as { analytics?: { initialized?: boolean } }).analytics?.initialized === true);
    await tab.evaluate(async () => {
      const analytics = (globalThis as unknown as { analytics: Record<string, (...args: unknown[]) => Promise<unknown>> }).analytics;
      await analytics.identify!('next-user-1', { email: 'next@example.com' });
      await analytics.track!('Product Viewed', { product_id: 'p-1', price: 9.5, currency: 'EUR' });
      await analytics.page!('Docs', 'Getting Started', { path: '/docs' });
    });
    const rows = await rowsByType(3, 'analytics.js');
    // Its settings from the collector's /v1/projects/…/settings, then one request per call to the short paths.
    await expect.poll(() => collectorRequests.length).toBeGreaterThanOrEqual(4);
    expect(collectorRequests.splice(0).sort()).toEqual([
      `GET /v1/projects/${site.writeKey}/settings 200`,
      'POST /v1/i 200',
      'POST /v1/p 200',
      'POST /v1/t 200',
    ]);
    expect(outside).toEqual([]);
    const anonymousId = rows.get('identify')!.anonymous_id;
    expect(anonymousId).toMatch(/^[0-9a-f-]{36}$/);
    const common = { anonymous_id: anonymousId, user_id: 'next-user-1', browser: 'Chrome Headless', device_type: 'desktop', ip: '127.0.0.0', library: 'analytics.js' };
    await expectStoredRows(database, [
      { message_id: rows.get('identify')!.message_id, type: 'identify', traits: { email: 'next@example.com' }, ...common },
      { message_id: rows.get('track')!.message_id, type: 'track', event: 'Product Viewed', properties: { product_id: 'p-1', price: 9.5, currency: 'EUR' }, url: `${shopSite.origin}/segment.html`, ...common },
      { message_id: rows.get('page')!.message_id, type: 'page', name: 'Getting Started', properties: { category: 'Docs' }, ...common },
    ]);
    await tab.context().close();
  });

  test('@rudderstack/analytics-js: source configuration from the collector, track, page and identify stored row by row', async () => {
    const tab = await open('/rudderstack.html');
    await tab.waitForFunction(() => typeof (globalThis as unknown as { rudderanalytics?: { track?: unknown } }).rudderanalytics?.track === 'function');
    await tab.evaluate(() => {
      const rudder = (globalThis as unknown as { rudderanalytics: Record<string, (...args: unknown[]) => void> }).rudderanalytics;
      rudder.identify!('rs-web-user-1', { email: 'rs-web@example.com' });
      rudder.track!('Order Completed', { order_id: 'W-1', revenue: 12, currency: 'USD' });
      rudder.page!('Docs', 'Getting Started', { path: '/docs' });
    });
    const rows = await rowsByType(3, 'RudderLabs JavaScript SDK');
    expect(collectorRequests.splice(0).filter((request) => request.startsWith('GET'))).toEqual([
      `GET /sourceConfig/?p=npm&v=3.34.1&build=modern&writeKey=${site.writeKey}&lockIntegrationsVersion=true&lockPluginsVersion=true 200`,
    ]);
    expect(outside).toEqual([]);
    const anonymousId = rows.get('identify')!.anonymous_id;
    expect(anonymousId).toMatch(/^[0-9a-f-]{36}$/);
    const common = { anonymous_id: anonymousId, user_id: 'rs-web-user-1', browser: 'Chrome Headless', device_type: 'desktop', ip: '127.0.0.0', library: 'RudderLabs JavaScript SDK' };
    await expectStoredRows(database, [
      { message_id: rows.get('identify')!.message_id, type: 'identify', traits: { email: 'rs-web@example.com' }, ...common },
      { message_id: rows.get('track')!.message_id, type: 'track', event: 'Order Completed', properties: { order_id: 'W-1', revenue: 12, currency: 'USD' }, url: `${shopSite.origin}/rudderstack.html`, ...common },
      { message_id: rows.get('page')!.message_id, type: 'page', name: 'Getting Started', properties: { category: 'Docs' }, ...common },
    ]);
    for (const row of rows.values()) {
      expect(row.original_timestamp, 'the SDK sends originalTimestamp').not.toBeNull();
      expect(row.sent_at, 'and sentAt').not.toBeNull();
    }
    await tab.context().close();
  });
});
