/**
 * `pnpm start`: the collector on the embedded database in `./.tally-data` (or on
 * DATABASE_URL), listening on 127.0.0.1 unless HOST says otherwise, the example shop and SPA
 * on a static server, and a token-protected, read-only SQL endpoint for `pnpm sql`.
 * PORT (default 8080) and SITE_PORT (default 8081) move them; every collector setting
 * (collector/README.md) applies.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, startCollector, type CollectorConfig } from '@tally/collector';
import { serveStatic } from './serve-static.js';
import { runningStart, startSqlEndpoint } from './sql-endpoint.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const examples = fileURLToPath(new URL('.', import.meta.url));
const sdkBuild = fileURLToPath(new URL('../sdk-web/dist/index.js', import.meta.url));

let config: CollectorConfig;
try {
  config = loadConfig({
    ...process.env,
    PORT: process.env.PORT ?? '8080',
    // One JSON line per request would bury this console; TALLY_LOG_LEVEL=info shows them.
    TALLY_LOG_LEVEL: process.env.TALLY_LOG_LEVEL ?? 'warn',
    TALLY_DATA_DIR: process.env.TALLY_DATA_DIR ?? `${repo}.tally-data`,
    // The dashboard is on with the embedded database; it is opened with the one-time link
    // printed below (a password nobody is told keeps the login form closed).
    TALLY_DASHBOARD: process.env.TALLY_DASHBOARD ?? (process.env.DATABASE_URL ? 'off' : 'on'),
    TALLY_DASHBOARD_PASSWORD: process.env.TALLY_DASHBOARD_PASSWORD ?? randomBytes(24).toString('base64url'),
  });
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`start: bad configuration: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
if (!existsSync(sdkBuild)) {
  console.error('start: sdk-web/dist is missing; run `pnpm build` first (`pnpm start` at the repository root does).');
  process.exit(1);
}

// The embedded engine must be opened by one process only.
const running = runningStart(config.dataDir);
if (!config.databaseUrl && running) {
  console.error(`start: another \`pnpm start\` (process ${running.pid}) is using ${config.dataDir}; stop it first.`);
  process.exit(1);
}

const collector = await startCollector(config).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`start: the collector cannot start: ${message}`);
  if (/lock|already|EADDRINUSE/i.test(message)) console.error('start: is another `pnpm start` running?');
  process.exit(1);
});
const collectorUrl = collector.url;

const site = await serveStatic({
  root: examples,
  port: Number(process.env.SITE_PORT ?? 8081),
  files: { '/sdk/index.js': sdkBuild },
  spaPrefixes: ['/spa/'],
  replacements: { __COLLECTOR_URL__: collectorUrl, __WRITE_KEY__: config.sources[0]?.writeKey ?? 'dev-write-key' },
});

const endpoint = collector.database.engine === 'pglite' ? await startSqlEndpoint(collector.database.db, config.dataDir) : undefined;

const where = collector.database.engine === 'pglite' ? `embedded database in ${config.dataDir}` : 'Postgres at DATABASE_URL';
const loginLink = collector.dashboardLoginLink();
console.log(`
  Tally is running.

  collector   ${collectorUrl}        (${where})
  shop        ${site.url}/shop/      (script tag)
  SPA         ${site.url}/spa/       (ESM package, client-side routing)
${loginLink ? `  dashboard   ${loginLink}
              (a one-time login link: it opens on the checkout funnel of your visit)
` : ''}
  Click through the shop, then ${loginLink ? 'open the dashboard link above; or, ' : ''}in another terminal:

    pnpm sql examples/sql/checkout-funnel.sql
    pnpm sql "select * from customer_profiles order by last_seen desc limit 5"
    pnpm sql                     (an interactive prompt)
    pnpm seed --customers 200    (realistic journeys through the HTTP path)

  Ctrl-C stops everything.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log('\n  stopping: finishing queued writes …');
    endpoint?.close();
    site.server.close();
    await collector.close();
    process.exit(0);
  });
}
