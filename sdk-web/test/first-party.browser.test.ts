// @vitest-environment node
/**
 * The first-party set-up in Debian's Chromium: the site passes `/t/*` to the collector (a
 * path-prefix reverse proxy), the page loads the tracker from `/t/p.js` and sends through the
 * same path, and the events are read from the database. The collector sets the anonymousId
 * cookie itself, and the tracker keeps that id when script storage is wiped. A click on a link
 * that leaves the page while the collector does not answer is stored first and sent by the next page.
 * And the README's recipes, run as documented: Vite's by Vite's own dev server, nginx's and Caddy's
 * by Debian's nginx and Caddy (`apt-get install -y nginx-light caddy`; see reverse-proxies.ts for
 * the only parts of their text the test changes).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createServer as createViteServer } from 'vite';
import { describe, expect, it, vi } from 'vitest';
import { ANONYMOUS_ID_COOKIE_MAX_AGE } from '../../collector/src/anonymous-id-cookie.js';
import { testEngine } from '../../collector/test/support/test-database.js';
import { browserSuite, closesAfterEach, startCollector, startSite, type ProxyMode } from './browser-suite.js';
import { startCaddy, startNginx } from './reverse-proxies.js';

const WRITE_KEY = 'first-party-write-key';
const html = readFileSync(new URL('./fixtures/first-party.html', import.meta.url), 'utf8').replaceAll('__WRITE_KEY__', WRITE_KEY);
const sources = [{ id: 'web', writeKey: WRITE_KEY, allowedOrigins: ['*'], consentMode: 'opt-out' as const, kind: 'client' as const, anonymousIdCookie: true }];

type WithTally = { tally: { user(): { anonymousId: string }; flush(): void } };
const ready = (page: Page) => page.waitForFunction(() => typeof (window as unknown as { tally?: { user?: unknown } }).tally?.user == 'function');
const anonymousIdOf = (page: Page) => page.evaluate(() => (window as unknown as WithTally).tally.user().anonymousId);

describe(`the first-party set-up in Chromium against the collector on ${testEngine}`, () => {
  const suite = browserSuite(['tally.js']);
  const closeAfter = closesAfterEach();

  /** The stored events of one visitor, as `page /path` or `track Event`, once `count` have arrived (and a moment more for a duplicate). */
  async function stored(anonymousId: string, count: number) {
    const query = () =>
      suite.database.db.selectFrom('events').select(['type', 'event', 'path']).where('anonymous_id', '=', anonymousId).orderBy('timestamp').execute();
    await vi.waitFor(async () => expect((await query()).length).toBeGreaterThanOrEqual(count), { timeout: 30_000, interval: 200 });
    await new Promise((r) => setTimeout(r, 1000));
    return (await query()).map((r) => (r.type == 'page' ? `page ${r.path}` : `${r.type} ${r.event}`)).sort();
  }

  /** A page of the site at `url` loads the tracker from /t/p.js and its events are stored; the collector's cookie reaches the browser. */
  async function sendsThroughRecipe(url: string) {
    const context = closeAfter(await suite.browser.newContext());
    const page = await context.newPage();
    await page.goto(url);
    await ready(page);
    const anonymousId = await anonymousIdOf(page);
    await page.click('#buy');
    await page.evaluate(() => (window as unknown as WithTally).tally.flush());
    expect(await stored(anonymousId, 2)).toEqual(['page /', 'track Buy Clicked']);
    const cookie = () => context.cookies(url).then((all) => all.find((c) => c.name == 'tally_aid'));
    await vi.waitFor(async () => expect((await cookie())?.expires).toBeGreaterThan(Date.now() / 1000 + ANONYMOUS_ID_COOKIE_MAX_AGE - 86_400), { timeout: 10_000 });
    expect((await cookie())?.value).toBe(anonymousId);
  }

  it('loads the tracker from /t/p.js and sends through /t/; the server’s cookie keeps the id when script storage is wiped', async () => {
    const collector = closeAfter(await startCollector(suite.database, { sources, trackerScript: suite.files['tally.js']!, trackerScriptName: 'p.js' }));
    const site = closeAfter(await startSite({ '/': html }, () => ({ port: collector.port })));
    const context = closeAfter(await suite.browser.newContext());
    const page = await context.newPage();
    await page.goto(site.url);
    await ready(page);
    const anonymousId = await anonymousIdOf(page);
    await page.click('#buy');
    await page.evaluate(() => (window as unknown as WithTally).tally.flush());
    expect(await stored(anonymousId, 2)).toEqual(['page /', 'track Buy Clicked']);
    expect(site.seen).toContain('GET /t/p.js');
    expect(site.seen).toContain('POST /t/v1/batch');

    // The cookie the collector set: its lifetime (400 days) is the server's, not the tracker's (365 days).
    const cookie = () => context.cookies(site.url).then((all) => all.find((c) => c.name == 'tally_aid'));
    await vi.waitFor(async () => expect((await cookie())?.expires).toBeGreaterThan(Date.now() / 1000 + ANONYMOUS_ID_COOKIE_MAX_AGE - 86_400), { timeout: 10_000 });
    expect(await cookie()).toMatchObject({ value: anonymousId, path: '/', sameSite: 'Lax', httpOnly: false });

    // Safari wipes what scripts stored after 7 days without a visit; the cookie from the server stays.
    await page.evaluate(() => localStorage.clear());
    await page.goto(`${site.url}/later.html`);
    await ready(page);
    expect(await anonymousIdOf(page)).toBe(anonymousId);
    await page.evaluate(() => (window as unknown as WithTally).tally.flush());
    expect(await stored(anonymousId, 3)).toEqual(['page /', 'page /later.html', 'track Buy Clicked']);
  }, 120_000);

  it('a link that leaves the page while the collector does not answer: the click is stored and the next page sends it once the collector is back', async () => {
    const collector = closeAfter(await startCollector(suite.database, { sources, trackerScript: suite.files['tally.js']!, trackerScriptName: 'p.js' }));
    let mode: ProxyMode = { port: collector.port, hold: true };
    const site = closeAfter(await startSite({ '/': html, '/blank.html': '<!doctype html><title>Blank</title>' }, () => mode, ['/next.html']));
    const context = closeAfter(await suite.browser.newContext());
    const page = await context.newPage();
    await page.goto(site.url);
    await ready(page);
    const anonymousId = await anonymousIdOf(page);
    const queued = (tab = page) => tab.evaluate(() => Object.entries(localStorage).some(([k, v]) => k.startsWith('tally_queue.') && v.includes('"Left"')));
    // The click's request goes out and is not answered; while the next page is on its way, the click is already stored.
    await page.click('#leave', { noWaitAfter: true });
    await vi.waitFor(() => expect(site.seen).toEqual(expect.arrayContaining(['POST /t/v1/batch', 'GET /next.html'])), { timeout: 10_000 });
    // Read from another tab of the site (a page without the tracker): the leaving one is busy navigating.
    const other = await context.newPage();
    await other.goto(`${site.url}/blank.html`);
    await vi.waitFor(async () => expect(await queued(other)).toBe(true), { timeout: 5_000 });
    await other.close();
    site.answerSlowPages();
    await page.waitForURL('**/next.html');
    await ready(page);
    // The next page found it there, and sends it (its request is held too).
    expect(await queued()).toBe(true);
    mode = { port: collector.port };
    site.dropHeld();
    expect(await stored(anonymousId, 2)).toEqual(['page /', 'track Left']);
    await page.close({ runBeforeUnload: true });
    expect(await stored(anonymousId, 3)).toEqual(['page /', 'page /next.html', 'track Left']);
  }, 120_000);

  it('the README’s Vite recipe: the dev server’s proxy passes the tracker, the events and the server’s cookie', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    // The recipe as documented, the collector's address aside.
    expect(readme).toContain(`proxy: { '/t/': { target: 'http://127.0.0.1:3000', rewrite: (path) => path.replace(/^\\/t/, ''), xfwd: true } },`);
    const collector = closeAfter(await startCollector(suite.database, { sources, trackerScript: suite.files['tally.js']!, trackerScriptName: 'p.js' }));
    const root = mkdtempSync(join(tmpdir(), 'tally-vite-'));
    closeAfter({ close: () => rmSync(root, { recursive: true, force: true }) });
    writeFileSync(join(root, 'index.html'), html);
    const vite = closeAfter(await createViteServer({
      root,
      configFile: false,
      logLevel: 'silent',
      server: {
        host: '127.0.0.1',
        port: 0,
        proxy: { '/t/': { target: `http://127.0.0.1:${collector.port}`, rewrite: (path) => path.replace(/^\/t/, ''), xfwd: true } },
      },
    }));
    await vite.listen();
    await sendsThroughRecipe(vite.resolvedUrls!.local[0]!);
  }, 120_000);

  it('the README’s nginx recipe, run by Debian’s nginx: it passes the tracker, the events and the server’s cookie', async () => {
    const collector = closeAfter(await startCollector(suite.database, { sources, trackerScript: suite.files['tally.js']!, trackerScriptName: 'p.js' }));
    const nginx = closeAfter(await startNginx(html, collector.port));
    await sendsThroughRecipe(nginx.url);
  }, 120_000);

  it('the README’s Caddy recipe, run by Debian’s Caddy: it passes the tracker, the events and the server’s cookie', async () => {
    const collector = closeAfter(await startCollector(suite.database, { sources, trackerScript: suite.files['tally.js']!, trackerScriptName: 'p.js' }));
    const caddy = closeAfter(await startCaddy(html, collector.port));
    await sendsThroughRecipe(caddy.url);
  }, 120_000);
});
