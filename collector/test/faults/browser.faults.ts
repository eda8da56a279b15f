import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_SOURCE, sleep, startCollector, type CollectorProcess } from './support/collector-process.js';
import { createFaultDatabase } from './support/fault-database.js';
import { recordScenario } from './support/summary.js';
import type { TestDatabase } from '../support/test-database.js';

const CHROMIUM = '/usr/bin/chromium';

// The browser tooling belongs to @tally/sdk-web: its Playwright and its in-memory build of the
// tracker are loaded from there, so the collector does not depend on either.
const sdkWeb = new URL('../../../sdk-web/', import.meta.url);
const fromSdkWeb = createRequire(new URL('package.json', sdkWeb));

interface Page {
  goto(url: string): Promise<unknown>;
  waitForFunction(fn: () => boolean): Promise<unknown>;
  evaluate<A>(fn: (arg: A) => void, arg: A): Promise<unknown>;
  close(options?: { runBeforeUnload?: boolean }): Promise<void>;
}
interface BrowserContext {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Browser {
  newContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}
interface Chromium {
  launch(options: { executablePath: string; args: string[] }): Promise<Browser>;
}

async function loadBrowserTooling(): Promise<{ chromium: Chromium; buildInMemory: () => Promise<{ files: Record<string, string> }> }> {
  const playwright = (await import(fromSdkWeb.resolve('playwright-core'))) as { chromium: Chromium };
  const build = (await import(new URL('test/build.ts', sdkWeb).href)) as { buildInMemory: () => Promise<{ files: Record<string, string> }> };
  return { chromium: playwright.chromium, buildInMemory: build.buildInMemory };
}
type TallyWindow = { tally?: { track?: unknown } };
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A page with the script tag pointed at the collector, and nothing else. */
async function startSite(collectorUrl: string, tally: string): Promise<{ url: string; server: Server }> {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>tab</title>
<script src="/tally.js" data-write-key="${FAULT_SOURCE.writeKey}" data-host="${collectorUrl}" data-flush-at="10" defer></script>
</head><body>tab</body></html>`;
  const server = createServer((req, res) => {
    if (req.url === '/tally.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(tally);
    if (req.url === '/favicon.ico') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => typeof (globalThis as TallyWindow).tally?.track === 'function');
}

async function track(page: Page, tab: string, from: number, count: number): Promise<void> {
  await page.evaluate(
    ({ tab, from, count }: { tab: string; from: number; count: number }) => {
      const tally = (globalThis as unknown as { tally: { track(event: string, properties: object): void } }).tally;
      for (let n = from; n < from + count; n += 1) tally.track('Tab Drill', { tab, n });
    },
    { tab, from, count },
  );
}

describe('the browser side in Chromium: collector unreachable, a tab closed mid-batch, two tabs sharing the stored queue', () => {
  let database: TestDatabase & { url: string };
  let collector: CollectorProcess | undefined;
  let browser: Browser | undefined;
  let site: Server | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install -y chromium\``);
    database = await createFaultDatabase();
  });
  afterAll(async () => {
    await browser?.close();
    site?.close();
    collector?.kill('SIGKILL');
    await database?.close();
  });

  it('ends with every tracked event in the database exactly once', async () => {
    collector = await startCollector({ databaseUrl: database.url });
    const { port, url: collectorUrl } = collector;
    const { chromium, buildInMemory } = await loadBrowserTooling();
    const { files } = await buildInMemory();
    const started = await startSite(collectorUrl, files['tally.js']!);
    site = started.server;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const context = await browser.newContext();
    const tabA = await context.newPage();
    const tabB = await context.newPage();
    await Promise.all([tabA.goto(started.url), tabB.goto(started.url)]);
    await Promise.all([ready(tabA), ready(tabB)]);

    // Some events go through while the collector is up.
    await track(tabA, 'A', 0, 10);
    await track(tabB, 'B', 0, 10);
    await sleep(1_500);

    // The network fails: nothing answers on the collector's port.
    collector.kill('SIGKILL');
    await collector.exited;
    await track(tabA, 'A', 10, 25);
    await track(tabB, 'B', 10, 25);
    await sleep(2_000);
    // Tab A is closed in the middle of a batch, with the collector still away.
    await track(tabA, 'A', 35, 7);
    await tabA.close({ runBeforeUnload: true });
    await sleep(1_000);

    collector = await startCollector({ databaseUrl: database.url, port });
    await track(tabB, 'B', 35, 5);
    // A tab opened later picks up what the closed tab left in the shared stored queue.
    const tabC = await context.newPage();
    await tabC.goto(started.url);
    await ready(tabC);

    const expected = 42 + 40;
    const count = async () => {
      const { rows } = await sql<{ rows: number; distinct_events: number }>`
        select count(*)::int8 as rows, count(distinct (properties->>'tab', properties->>'n'))::int8 as distinct_events
        from events where source_id = ${FAULT_SOURCE.id} and event = 'Tab Drill'`.execute(database.db);
      return { rows: Number(rows[0]?.rows ?? 0), distinct: Number(rows[0]?.distinct_events ?? 0) };
    };
    const deadline = Date.now() + 90_000;
    let seen = await count();
    while (seen.distinct < expected && Date.now() < deadline) {
      await sleep(500);
      seen = await count();
    }
    // A moment more, in which a duplicate would have arrived.
    await sleep(3_000);
    seen = await count();
    await context.close();
    const present = await sql<{ tab: string; n: string }>`
      select distinct properties->>'tab' as tab, properties->>'n' as n from events
      where source_id = ${FAULT_SOURCE.id} and event = 'Tab Drill'`.execute(database.db);
    const have = new Set(present.rows.map((row) => `${row.tab}${row.n}`));
    const missing = [...Array.from({ length: 42 }, (_, n) => `A${n}`), ...Array.from({ length: 40 }, (_, n) => `B${n}`)].filter(
      (id) => !have.has(id),
    );

    recordScenario({
      scenario: 'Chromium: 2 tabs, collector down, tab closed mid-batch',
      sent: expected,
      stored: seen.distinct,
      duplicates: seen.rows - seen.distinct,
      lost: expected - seen.distinct,
      notes: missing.length ? `missing ${missing.join(' ')}` : 'tab A closed with 7 events queued',
    });
    expect(missing).toEqual([]);
    expect(seen).toEqual({ rows: expected, distinct: expected });
  });
});
