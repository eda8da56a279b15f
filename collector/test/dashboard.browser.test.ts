/**
 * The dashboard in Debian's Chromium against a seeded shop (support/dashboard-data.ts): log
 * in from the keyboard, build a 4-step funnel and read its bars, open a customer's 360° view
 * and an experiment's results, run and share a saved query. Screenshots of each page go to
 * collector/test-artefacts/dashboard/ (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testApp } from './support/collector-app.js';
import { CHECKOUT, DASHBOARD_PASSWORD, EXPERIMENT, EXPERIMENT_RANGE, RANGE, seedAnalytics, seedShop, testDashboard, type ShopPeople, type TestDashboard } from './support/dashboard-data.js';
import { serveOnFreePort } from './support/served-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const ARTEFACTS = fileURLToPath(new URL('../test-artefacts/dashboard/', import.meta.url));

describe(`the dashboard in Chromium on ${testEngine}`, () => {
  let database: TestDatabase;
  let dashboard: TestDashboard;
  let served: Awaited<ReturnType<typeof serveOnFreePort>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let people: ShopPeople;
  const errors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: `${ARTEFACTS}${name}.png`, fullPage: true });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install -y chromium\``);
    mkdirSync(ARTEFACTS, { recursive: true });
    database = await createTestDatabase();
    people = await seedShop(database);
    await seedAnalytics(database, people);
    dashboard = await testDashboard(database);
    served = await serveOnFreePort(testApp(database, { dashboard }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await dashboard?.close();
    await database?.close();
  });

  test('logs in from the keyboard and shows the overview of the range with the previous one beside it', async () => {
    await page.goto(`${served.url}/dashboard`);
    await page.locator('#password').waitFor();
    await shot('login');
    await page.keyboard.type(DASHBOARD_PASSWORD);
    await page.keyboard.press('Enter');
    await page.locator('#nav').waitFor();
    await page.fill('#since', RANGE.since);
    await page.fill('#until', RANGE.until);
    await page.click('form.controls button[type=submit]');
    await page.locator('[data-metric="visitors"] .value', { hasText: '3' }).waitFor();
    expect(await page.locator('[data-metric="orders"] .previous').textContent()).toBe('previous range: 1');
    expect(await page.locator('[data-metric="revenue-EUR"] .value').textContent()).toBe('30');
    // The SQL toggle opens on the exact query, ready to copy.
    await page.locator('details.sql summary').first().click();
    expect(await page.locator('details.sql pre').first().textContent()).toContain("'2026-06-01T00:00:00.000Z'::timestamptz");
    await shot('overview');
  });

  test('builds a 4-step funnel and reads the customers on its bars: 3, 2, 2, 1', async () => {
    await page.goto(`${served.url}/dashboard#funnel`);
    await page.locator('#step-1').waitFor();
    // Start from no step at all, then add the four.
    while ((await page.locator('#funnel-steps .step').count()) > 0) await page.locator('#funnel-steps .step button').first().click();
    for (const [index, step] of CHECKOUT.entries()) {
      await page.click('#add-step');
      await page.selectOption(`#step-${index + 1}`, step);
    }
    await page.fill('#funnel-since', RANGE.since);
    await page.fill('#funnel-until', RANGE.until);
    await page.selectOption('#funnel-within', '7 days');
    await page.click('#run-funnel');
    await page.locator('#funnel-result .bar').nth(3).waitFor();
    const bars = await page.locator('#funnel-result .bar').evaluateAll((nodes) => nodes.map((node) => Number(node.getAttribute('data-customers'))));
    expect(bars).toEqual([3, 2, 2, 1]);
    expect(await page.locator('#funnel-result .bar').nth(3).textContent()).toBe('1 · 33.3 %');
    expect(await page.locator('#funnel-result [data-step="2"] .bar-note').textContent()).toBe('66.7 % of the step before, median 60 s');
    await shot('funnel');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('funnel-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('trends draw their charts', async () => {
    await page.goto(`${served.url}/dashboard#trends`);
    await page.fill('#since', RANGE.since);
    await page.fill('#until', RANGE.until);
    await page.click('form.controls button[type=submit]');
    await page.locator('.chart canvas').nth(2).waitFor();
    expect(await page.locator('.uplot').count()).toBe(3);
    await shot('trends');
  });

  test("opens a customer's 360° view: profile, identities of both devices, the order and the timeline", async () => {
    await page.goto(`${served.url}/dashboard#customers`);
    await page.selectOption('#customer-kind', 'email');
    await page.fill('#customer-value', people.ann.email);
    await page.keyboard.press('Enter');
    await page.locator('#customer-profile dd[data-field="email"]').waitFor();
    expect(await page.locator('#customer-profile dd[data-field="email"]').textContent()).toBe(people.ann.email);
    expect(await page.locator('#customer-profile dd[data-field="devices"]').textContent()).toBe('2');
    const identities = await page.locator('#customer-identities tbody tr').allTextContents();
    expect(identities.join(' ')).toContain(people.ann.phone);
    expect(identities.join(' ')).toContain(people.ann.laptop);
    expect(await page.locator('#customer-orders tbody tr').count()).toBe(1);
    expect(await page.locator('#customer-timeline tbody tr').count()).toBe(8);
    // The search itself is behind a SQL toggle, as every panel is.
    await page.locator('#customer-search details.sql summary').click();
    expect(await page.locator('#customer-search details.sql pre').textContent()).toContain(`tally_normalise_email('${people.ann.email}')`);
    await shot('customer-360');
  });

  test('the segments page shows a saved segment that no longer runs as an error on its own row, the others with their size', async () => {
    await sql`insert into segments (name, description, definition) values
      ('adults', 'Aged 18 or more', ${"select id as customer_id from customers where (traits ->> 'age')::int >= 18"})`.execute(database.db);
    await sql`update customers set traits = traits || '{"age": "unknown"}' where id = (select id from customers order by id limit 1)`.execute(database.db);
    try {
      await page.goto(`${served.url}/dashboard#segments`);
      const broken = page.locator('#segments-saved tr[data-segment="adults"] [data-column="members"]');
      await broken.waitFor();
      expect(await broken.textContent()).toMatch(/^does not run: invalid input syntax for type integer: "unknown"/);
      expect(await page.locator('#segments-saved tr[data-segment="eur-buyers"] [data-column="members"]').textContent()).toBe('2');
      expect(await page.locator('#segments-rfm tbody tr').count()).toBe(3);
      await shot('segments');
    } finally {
      await sql`delete from segments where name = 'adults'`.execute(database.db);
      await sql`update customers set traits = traits - 'age' where traits ? 'age'`.execute(database.db);
    }
  });

  test("opens an experiment's results: green converts 3 of 4, an uplift of 200 % over the control; its funnel by variant is a click away", async () => {
    await page.goto(`${served.url}/dashboard#experiments`);
    await page.locator(`#experiment-id option[value="${EXPERIMENT}"]`).waitFor({ state: 'attached' });
    await page.selectOption('#experiment-goal', 'Signed Up');
    await page.fill('#experiment-since', EXPERIMENT_RANGE.since);
    await page.fill('#experiment-until', EXPERIMENT_RANGE.until);
    await page.click('#run-experiment');
    const green = page.locator('#experiment-results tr[data-variant="green"]');
    await green.waitFor();
    expect(await green.locator('[data-column="converted"]').textContent()).toBe('3');
    expect(await green.locator('[data-column="uplift"]').textContent()).toBe('200 %');
    await shot('experiments');
    await page.click('#experiment-funnel');
    await page.locator('#step-1').waitFor();
    expect(await page.inputValue('#funnel-breakdown')).toBe(`experiment:${EXPERIMENT}`);
  });

  test('runs a query as a bar chart, saves it, and the shared link runs it again', async () => {
    await page.goto(`${served.url}/dashboard#queries`);
    await page.locator('#sql-editor').waitFor();
    await page.fill('#sql-editor', "select path, count(*) as pageviews from events where type = 'page' group by path order by pageviews desc, path");
    await page.selectOption('#sql-chart', 'bar');
    await page.click('#run-query');
    await page.locator('#query-chart canvas').waitFor();
    await page.fill('#query-name', 'Pageviews per path');
    await page.click('#save-query');
    const link = await page.locator('#share-link').getAttribute('href');
    expect(link).toMatch(/\/dashboard#queries\/\d+$/);
    await shot('saved-query');

    const other = await context.newPage();
    // Another tab of the same browser (it holds the session cookie): the link opens the query and runs it.
    await other.goto(link!);
    await other.locator('#query-chart canvas').waitFor();
    expect(await other.inputValue('#sql-editor')).toContain('count(*) as pageviews');
    expect(await other.inputValue('#query-name')).toBe('Pageviews per path');
    const rows = await other.locator('#sql-result details tbody tr').allTextContents();
    expect(rows[0]).toBe('/products/mug3');
    await other.close();
  });

  test('a write typed into the SQL editor is refused on the page, and the page shows why', async () => {
    // From the saved query's page of the test before: the editor, once the page is shown, holds the example query.
    await page.goto(`${served.url}/dashboard#queries`);
    await expect.poll(() => page.inputValue('#sql-editor')).toContain('from orders');
    await page.fill('#sql-editor', 'delete from events');
    await page.click('#run-query');
    expect(await page.locator('#sql-result .error').textContent()).toMatch(/runs read-only queries/);
    expect(errors).toEqual([]);
  });
});
