/**
 * Fixtures of the browser suites: Debian's Chromium, the builds, a test database, the collector
 * on a port of its own, and a site that serves its pages and passes everything under `/t/` to
 * the collector with the prefix cut off — the reverse proxy of the README's recipes, in a few
 * lines of Node.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { serve } from '@hono/node-server';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createApp } from '@tally/collector';
import type { Source } from '../../collector/src/config.js';
import { writerAndMetrics } from '../../collector/test/support/collector-app.js';
import { createTestDatabase, type TestDatabase } from '../../collector/test/support/test-database.js';
import { buildInMemory } from './build.js';

const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium, headless; a clear error when it is not installed. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install -y chromium\``);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The collector on a free port of 127.0.0.1, serving `trackerScript` at `/<trackerScriptName>`. */
export async function startCollector(database: TestDatabase, o: { sources: Source[]; trackerScript: string; trackerScriptName?: string }) {
  const app = createApp({
    database,
    trackerScript: o.trackerScript,
    ...writerAndMetrics(database),
    config: { sources: o.sources, trustProxy: 0, skewThresholdMs: 60_000, adminKey: undefined, trackerScriptName: o.trackerScriptName },
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((r) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => r());
      });
      await app.writer.drain();
    },
  };
}

/** How the proxy treats `/t/*`: passes it to the collector on `port`; with `hold`, keeps batches unanswered (a collector that does not answer). */
export interface ProxyMode {
  port: number;
  hold?: boolean;
}

/**
 * The site: `pages` by path (`/` for any other path), `/t/*` proxied as `mode()` says; `seen` lists
 * the requests. A page whose path is in `slow` is answered only at `answerSlowPages()`.
 */
export async function startSite(pages: Record<string, string>, mode: () => ProxyMode, slow: string[] = []) {
  const seen: string[] = [];
  const held: ServerResponse[] = [];
  const waiting: (() => void)[] = [];
  const proxy = (req: IncomingMessage, res: ServerResponse, port: number) => {
    const upstream = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url!.slice('/t'.length), headers: { ...req.headers, host: `127.0.0.1:${port}` } },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  const server: Server = createServer((req, res) => {
    const path = req.url!.split('?')[0]!;
    seen.push(`${req.method} ${path}`);
    if (path.startsWith('/t/')) {
      const m = mode();
      // Held: the batches; the script itself still loads.
      if (m.hold && req.method == 'POST') return void held.push(res);
      return proxy(req, res, m.port);
    }
    if (path == '/favicon.ico') return res.writeHead(404).end();
    const type = path.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8';
    const answer = () => res.writeHead(200, { 'content-type': type }).end(pages[path] ?? pages['/']);
    if (slow.includes(path)) waiting.push(answer);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    answerSlowPages: () => {
      for (const answer of waiting.splice(0)) answer();
    },
    /** Cuts the connections of the held requests, as a collector that went away would. */
    dropHeld: () => {
      for (const res of held.splice(0)) res.socket?.destroy();
    },
    close: () => {
      for (const answer of waiting.splice(0)) answer();
      for (const res of held.splice(0)) res.socket?.destroy();
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

/** Registers an `afterEach` that closes, newest first, each thing the test handed to the function it answers. */
export function closesAfterEach(): <T extends { close(): unknown }>(thing: T) => T {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  return (thing) => (open.push(thing), thing);
}

/** A browser suite's fixtures, made once for its file: the builds named (from src/), a test database, Chromium. */
export function browserSuite(builds: string[]): { files: Record<string, string>; database: TestDatabase; browser: Browser } {
  const suite = {} as { files: Record<string, string>; database: TestDatabase; browser: Browser };
  beforeAll(async () => {
    suite.files = (await buildInMemory(builds)).files;
    suite.database = await createTestDatabase();
    suite.browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await suite.browser?.close();
    await suite.database?.close();
  });
  return suite;
}
