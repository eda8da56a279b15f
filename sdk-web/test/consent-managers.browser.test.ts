// @vitest-environment node
/**
 * The consent-manager bridges in Debian's Chromium. TCF: a page with a TCF v2.2 consent manager, the tracker in
 * opt-in mode and the `tally-tcf.js` add-on. Nothing is stored while the CMP asks; the visitor's
 * choice (analytics purposes only) lets the waiting page view go, and a marketing event is never
 * stored. A later visit applies the CMP's stored decision at once. Consent Mode: gtag's denied
 * defaults hold the events back, the visitor's update lets them go. Events are read from the database.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import { testEngine } from '../../collector/test/support/test-database.js';
import { browserSuite, closesAfterEach, startCollector, startSite } from './browser-suite.js';
import { installTcfCmp, type TcfCmpControls } from './tcf-cmp.js';

const WRITE_KEY = 'consent-managers-write-key';
const template = readFileSync(new URL('./fixtures/consent-manager.html', import.meta.url), 'utf8').replaceAll('__WRITE_KEY__', WRITE_KEY);
/** The page with a consent manager and the bridge add-on `addOn`. */
const pageWith = (manager: string, addOn: string) => template.replace('__MANAGER__', manager).replace('__ADD_ON__', addOn);
// The TCF CMP is installed by the test in every page before any script (an init script).
const html = pageWith('<!-- TCF v2.2 CMP: installed by the test -->', 'tally-tcf.js');
/** gtag's snippet with Consent Mode v2 defaults, as Google documents it. */
const GTAG = `<script>
      window.dataLayer = window.dataLayer || [];
      function gtag() { dataLayer.push(arguments); }
      gtag('consent', 'default', { ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied', analytics_storage: 'denied' });
    </script>`;
const sources = [{ id: 'web', writeKey: WRITE_KEY, allowedOrigins: ['*'], consentMode: 'opt-in' as const, kind: 'client' as const }];
const ANALYTICS = { 1: true, 8: true, 9: true };

type PageWindow = { tally: { user(): { anonymousId: string }; track(e: string, p?: object, o?: object): void; flush(): void }; __cmp: TcfCmpControls };
const ready = (page: Page) => page.waitForFunction(() => typeof (window as unknown as { tally?: { user?: unknown } }).tally?.user == 'function');

describe(`the consent-manager bridges in Chromium against the collector on ${testEngine}`, () => {
  const suite = browserSuite(['tally.js', 'tally-tcf.js', 'tally-consent-mode.js']);
  const closeAfter = closesAfterEach();

  const rows = (anonymousId: string) =>
    suite.database.db.selectFrom('events').select(['type', 'event', 'context']).where('anonymous_id', '=', anonymousId).orderBy('timestamp').execute();
  const names = async (anonymousId: string) => (await rows(anonymousId)).map((r) => r.event ?? r.type);

  it('TCF: stores nothing while the CMP asks, then what the visitor’s choice grants; a stored choice applies on the next visit', async () => {
    const collector = closeAfter(await startCollector(suite.database, { sources, trackerScript: suite.files['tally.js']!, trackerScriptName: 'p.js' }));
    const site = closeAfter(await startSite({ '/': html, '/tally-tcf.js': suite.files['tally-tcf.js']! }, () => ({ port: collector.port })));
    const context = closeAfter(await suite.browser.newContext());
    // The CMP's stub comes first in every page, as the TCF spec asks of a site.
    await context.addInitScript(`(${installTcfCmp.toString()})(window)`);
    const page = await context.newPage();
    await page.goto(site.url);
    await ready(page);
    const anonymousId = await page.evaluate(() => (window as unknown as PageWindow).tally.user().anonymousId);
    await page.evaluate(() => (window as unknown as PageWindow).__cmp.load(null));
    await page.click('#buy');
    // Undecided: the page view and the click wait in the page's memory; no batch has left it.
    expect(await page.evaluate(() => (window as unknown as { tally: { consent(): { decided: boolean } } }).tally.consent().decided)).toBe(false);
    expect(site.seen.filter((r) => r.startsWith('POST'))).toEqual([]);

    await page.evaluate((c) => (window as unknown as PageWindow).__cmp.choose(c), ANALYTICS);
    await page.evaluate(() => (window as unknown as PageWindow).tally.track('Ad Seen', {}, { category: 'marketing' }));
    await vi.waitFor(async () => expect((await names(anonymousId)).sort()).toEqual(['Buy Clicked', 'Consent Updated', 'page']), { timeout: 15_000 });
    const stored = await rows(anonymousId);
    for (const r of stored) expect(r.context).toMatchObject({ consent: { categoryPreferences: { analytics: true, marketing: false } } });

    // The next visit: the CMP loads with the decision it stored, and the page view goes at once.
    await page.goto(site.url);
    await ready(page);
    await page.evaluate((c) => (window as unknown as PageWindow).__cmp.load(c), ANALYTICS);
    await vi.waitFor(async () => expect((await names(anonymousId)).filter((n) => n == 'page')).toHaveLength(2), { timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await names(anonymousId)).sort()).toEqual(['Buy Clicked', 'Consent Updated', 'page', 'page']);
  }, 120_000);

  it('Consent Mode: gtag’s denied defaults hold the events back; the visitor’s update lets what it grants go', async () => {
    const collector = closeAfter(await startCollector(suite.database, { sources, trackerScript: suite.files['tally.js']!, trackerScriptName: 'p.js' }));
    const site = closeAfter(await startSite({ '/': pageWith(GTAG, 'tally-consent-mode.js'), '/tally-consent-mode.js': suite.files['tally-consent-mode.js']! }, () => ({ port: collector.port })));
    const context = closeAfter(await suite.browser.newContext());
    const page = await context.newPage();
    await page.goto(site.url);
    await ready(page);
    const anonymousId = await page.evaluate(() => (window as unknown as PageWindow).tally.user().anonymousId);
    await page.click('#buy');
    expect(await page.evaluate(() => (window as unknown as { tally: { consent(): { decided: boolean } } }).tally.consent().decided)).toBe(false);
    expect(site.seen.filter((r) => r.startsWith('POST'))).toEqual([]);

    await page.evaluate(() => (window as unknown as { gtag(...a: unknown[]): void }).gtag('consent', 'update', { analytics_storage: 'granted' }));
    await page.evaluate(() => (window as unknown as PageWindow).tally.track('Ad Seen', {}, { category: 'marketing' }));
    await vi.waitFor(async () => expect((await names(anonymousId)).sort()).toEqual(['Buy Clicked', 'Consent Updated', 'page']), { timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 1000));
    const stored = await rows(anonymousId);
    expect(stored.map((r) => r.event ?? r.type).sort()).toEqual(['Buy Clicked', 'Consent Updated', 'page']);
    for (const r of stored) expect(r.context).toMatchObject({ consent: { categoryPreferences: { analytics: true, marketing: false } } });
  }, 120_000);
});
