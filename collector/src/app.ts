import { Hono, type Context } from 'hono';
import type { AppConfig, CollectorEnv, RouteDeps } from './app-context.js';
import type { Database } from './db/database.js';
import { dashboardRoutes } from './dashboard/routes.js';
import type { DashboardReader } from './dashboard/reader.js';
import type { DashboardSessions } from './dashboard/sessions.js';
import type { LoginThrottle } from './dashboard/login-throttle.js';
import { DEFAULT_IMPORT_SETTINGS } from './config.js';
import { ApiError, onError } from './errors.js';
import type { EventWriter } from './ingest/group-commit-writer.js';
import { requestLog, silentLogger, type Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { rateLimit, type RateLimitOptions } from './rate-limit/index.js';
import { clientAddress, peerAddress } from './request-identity.js';
import { customerImportRoutes } from './routes/customer-import.js';
import { dataRightsRoutes } from './routes/data-rights.js';
import { mergeRoutes } from './routes/merges.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIngestRoutes } from './routes/ingest.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerSettingsRoute } from './routes/settings.js';
import { registerSourceConfigRoute } from './routes/source-config.js';
import { registerTrackerScriptRoute } from './routes/tracker-script.js';
import { sourceCors } from './source-cors.js';

export interface AppDeps {
  database: Database;
  config: AppConfig;
  /** The group-commit writer over `database` (built once, by `startCollector` or a test). */
  writer: EventWriter;
  metrics: Metrics;
  /** Where the request log lines go; nothing is logged without one. */
  logger?: Logger;
  /** The server's clock (tests pin it). */
  now?: () => Date;
  /** The browser tracker served at `/t.js` (see `loadTrackerScript`); null or absent → 404. */
  trackerScript?: string | null;
  /** The socket peer's address; by default `getConnInfo`'s (none in-process). */
  peerAddress?: (c: Context<CollectorEnv>) => string | undefined;
  /** Per-address and per-write-key request limits (429 with `Retry-After`); none when absent. */
  rateLimit?: RateLimitOptions | undefined;
  /** The dashboard's read-only reader and sessions; absent → `/dashboard` answers 404 (the default). */
  dashboard?: { reader: DashboardReader; sessions: DashboardSessions; loginThrottle?: LoginThrottle | undefined } | undefined;
}

/**
 * Builds the collector's HTTP app: ingestion endpoints (Segment-compatible), the SDK settings
 * document, the tracker script, health, readiness and metrics. It builds nothing it depends
 * on: `startCollector` (the composition root) passes the writer, metrics and logger. Serve it
 * with `@hono/node-server` or call `app.request(...)` in-process.
 *
 * @example
 * const writer = createGroupCommitWriter({ db: database.db });
 * const app = createApp({ database, config, writer, metrics: createMetrics(() => writer.queueDepth) });
 * const res = await app.request('/v1/track', { method: 'POST', body: JSON.stringify(event) });
 */
export function createApp(deps: AppDeps): Hono<CollectorEnv> & { writer: EventWriter; metrics: Metrics } {
  const { writer, metrics, config } = deps;
  const peer: (c: Context<CollectorEnv>) => string | undefined = deps.peerAddress ?? peerAddress;
  const limits = deps.rateLimit
    ? rateLimit({ ...deps.rateLimit, clientIp: (c) => clientAddress(c, config.trustProxy, peer(c as never)) })
    : undefined;

  const routeDeps: RouteDeps = {
    database: deps.database,
    config,
    writer,
    metrics,
    logger: deps.logger ?? silentLogger,
    now: deps.now ?? (() => new Date()),
    peerAddress: peer,
    limitWriteKey: limits ? (c, writeKey) => limits.limitWriteKey(c, writeKey) : () => {},
    trackerScript: deps.trackerScript ?? null,
  };

  const app = new Hono<CollectorEnv>();
  app.onError(onError);
  app.notFound((c) => onError(new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`), c));
  app.use('*', requestLog(routeDeps.logger));
  app.use('/v1/*', sourceCors(config.sources));
  app.use('/v1/*', async (c, next) => {
    await next();
    if (c.req.method === 'POST') metrics.requests.inc({ status: String(c.res.status) });
  });
  if (limits) app.use('/v1/*', limits);

  registerIngestRoutes(app, routeDeps);
  registerSettingsRoute(app, routeDeps);
  registerSourceConfigRoute(app, routeDeps);
  registerTrackerScriptRoute(app, routeDeps);
  registerHealthRoutes(app, routeDeps);
  registerMetricsRoute(app, routeDeps);
  app.route('/v1/admin', dataRightsRoutes({ database: deps.database, adminKey: config.adminKey, now: routeDeps.now }));
  if (deps.dashboard) {
    app.get('/dashboard/', (c) => c.redirect('/dashboard', 301));
    app.route(
      '/dashboard',
      dashboardRoutes({
        database: deps.database,
        ...deps.dashboard,
        secureCookie: config.publicUrl?.startsWith('https://'),
        clientAddress: (c) => clientAddress(c, config.trustProxy, peer(c as never)),
      }),
    );
  }
  app.route(
    '/v1/admin',
    customerImportRoutes({ database: deps.database, adminKey: config.adminKey, settings: config.customerImport ?? DEFAULT_IMPORT_SETTINGS, now: routeDeps.now }),
  );
  app.route('/v1/admin/merges', mergeRoutes({ database: deps.database, adminKey: config.adminKey }));
  return Object.assign(app, { writer, metrics });
}
