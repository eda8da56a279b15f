import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, startCollector, type RunningCollector } from '@tally/collector';
import { serveStatic } from '../serve-static.js';
import { runningStart, startSqlEndpoint } from '../sql-endpoint.js';
import { formatTable } from '../format-table.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';

// What a newcomer does: start Tally, click through the shop, run the checkout funnel.
describe('the first five minutes', () => {
  let collector: RunningCollector;
  let endpoint: Awaited<ReturnType<typeof startSqlEndpoint>>;
  let site: { server: Server; url: string };
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-examples-'));
  // What `pnpm sql` does: the endpoint's address and token from the data folder.
  const ask = (text: string) => {
    const { url, token } = runningStart(dataDir)!;
    return fetch(url, { method: 'POST', body: text, headers: { authorization: `Bearer ${token}` } });
  };

  beforeAll(async () => {
    // As `pnpm start` configures it: the dashboard on, opened by a one-time link.
    collector = await startCollector({ ...loadConfig({ TALLY_DASHBOARD: 'on', TALLY_DASHBOARD_PASSWORD: randomUUID() }), port: 0, host: '127.0.0.1', dataDir: 'memory://' });
    endpoint = await startSqlEndpoint(collector.database.db, dataDir);
    site = await serveStatic({
      root: new URL('..', import.meta.url).pathname,
      port: 0,
      spaPrefixes: ['/spa/'],
      replacements: { __COLLECTOR_URL__: collector.url, __WRITE_KEY__: 'dev-write-key' },
    });
  });
  afterAll(async () => {
    endpoint.close();
    site.server.close();
    await collector.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the shop pages load the tracker from the collector with the development write key', async () => {
    const html = await (await fetch(`${site.url}/shop/product.html`)).text();
    expect(html).toContain(`<script src="${collector.url}/t.js" data-write-key="dev-write-key"`);
    const tracker = await fetch(`${collector.url}/t.js`);
    expect(tracker.status).toBe(200);
  });

  test('the SPA routes fall back to its page; nothing outside the examples is served', async () => {
    const spa = await fetch(`${site.url}/spa/pricing`);
    expect(await spa.text()).toContain('"@tally/sdk-web"');
    // The repository's own files sit one folder up, out of reach.
    expect((await fetch(`${site.url}/%2e%2e/pnpm-workspace.yaml`)).status).toBe(404);
    expect((await fetch(`${site.url}/shop/%2e%2e%2f%2e%2e%2fpnpm-workspace.yaml`)).status).toBe(404);
  });

  test('a visit sent through the HTTP API shows in the checkout funnel run by pnpm sql', async () => {
    const anonymousId = randomUUID();
    const at = (minutes: number) => new Date(Date.now() - (10 - minutes) * 60_000).toISOString();
    const product = { product_id: 'mug-01', name: 'Tally mug', price: 14, currency: 'EUR' };
    const batch = [
      { type: 'page', anonymousId, timestamp: at(0), properties: { path: '/shop/' } },
      { type: 'track', event: 'Product Viewed', anonymousId, timestamp: at(1), properties: product },
      { type: 'track', event: 'Product Added', anonymousId, timestamp: at(2), properties: { ...product, quantity: 1 } },
      { type: 'identify', anonymousId, userId: 'user:ann@example.com', timestamp: at(3), traits: { email: 'ann@example.com', name: 'Ann' } },
      { type: 'track', event: 'Checkout Started', anonymousId, userId: 'user:ann@example.com', timestamp: at(4), properties: { revenue: 14, products: [product] } },
      { type: 'track', event: 'Order Completed', anonymousId, userId: 'user:ann@example.com', timestamp: at(5), properties: { order_id: 'order-1', total: 14, revenue: 14, products: [product] } },
    ].map((m) => ({ ...m, messageId: randomUUID() }));
    const response = await fetch(`${collector.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: site.url },
      body: JSON.stringify({ writeKey: 'dev-write-key', batch, sentAt: new Date().toISOString() }),
    });
    expect(response.status).toBe(200);

    const query = readFileSync(new URL('../sql/checkout-funnel.sql', import.meta.url), 'utf8');
    const answer = await ask(query);
    const { rows } = (await answer.json()) as { rows: { step: number; customers: number }[] };
    expect(rows.map((r) => [r.step, r.customers])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
    expect(formatTable(rows)).toMatch(/^step \| event/);

    const profile = await ask('select email, orders, revenue from customer_profiles');
    expect(((await profile.json()) as { rows: unknown[] }).rows).toEqual([{ email: 'ann@example.com', orders: 1, revenue: { '(none)': 14 } }]);

    // The printed dashboard link opens on the checkout funnel of this visit.
    const login = await fetch(collector.dashboardLoginLink()!, { redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/dashboard#funnel');
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const steps = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'].map((step) => `step=${encodeURIComponent(step)}`).join('&');
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const funnel = await fetch(`${collector.url}/dashboard/api/funnel?${steps}&since=${day(-30)}&until=${day(1)}&within=7%20days`, { headers: { cookie } });
    const bars = ((await funnel.json()) as { funnel: { rows: { customers: number }[] } }).funnel.rows.map((row) => row.customers);
    expect(bars).toEqual([1, 1, 1, 1]);
  });

  test('a bad query gets its error message back', async () => {
    const answer = await ask('select * from no_such_table');
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toMatch(/no_such_table/);
  });
});
