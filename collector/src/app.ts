import { Hono, type Context } from 'hono';
import type { AppConfig, CollectorEnv, RouteDeps } from './app-context.js';
import type { Database } from './db/database.js';
import { ApiError, onError } from './errors.js';
import { createGroupCommitWriter, type EventWriter } from './ingest/group-commit-writer.js';
import { createMetrics, type Metrics } from './metrics.js';
import { rateLimit, type RateLimitOptions } from './rate-limit/index.js';
import { dataRightsRoutes } from './routes/data-rights.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIngestRoutes } from './routes/ingest.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerSettingsRoute } from './routes/settings.js';
import { loadTrackerScript, registerTrackerScriptRoute } from './routes/tracker-script.js';
import { sourceCors } from './source-cors.js';

export interface AppDeps {
  database: Database;
  config: AppConfig;
  /** The group-commit writer; by default one over `database` (one connection on PGlite, two on Postgres). */
  writer?: EventWriter;
  metrics?: Metrics;
  /** The server's clock (tests pin it). */
  now?: () => Date;
  /** The browser tracker served at `/t.js`; by default `@tally/sdk-web`'s built `dist/tally.js`. */
  trackerScript?: string | null;
  /** The socket peer's address; by default read from the Node request behind the Hono adapter. */
  peerAddress?: (c: Context<CollectorEnv>) => string | undefined;
  /** Per-write-key and per-address request limits (429 with `Retry-After`); none when absent. */
  rateLimit?: RateLimitOptions | undefined;
}

/**
 * Builds the collector's HTTP app: ingestion endpoints (Segment-compatible), the SDK settings
 * document, the tracker script, health, readiness and metrics. Serve it with
 * `@hono/node-server` or call `app.request(...)` in-process.
 *
 * @example
 * const database = await createDatabase({ dataDir: 'memory://' });
 * const app = createApp({ database, config: loadConfig(process.env) });
 * const res = await app.request('/v1/track', { method: 'POST', body: JSON.stringify(event) });
 */
export function createApp(deps: AppDeps): Hono<CollectorEnv> & { writer: EventWriter; metrics: Metrics } {
  let created: Metrics | undefined;
  const writer =
    deps.writer ??
    createGroupCommitWriter({
      db: deps.database.db,
      connections: deps.database.engine === 'pglite' ? 1 : 2,
      onFlush: (stats) => (deps.metrics ?? created)?.recordFlush(stats),
    });
  const metrics = deps.metrics ?? (created = createMetrics(() => writer.queueDepth));

  const routeDeps: RouteDeps = {
    database: deps.database,
    config: deps.config,
    writer,
    metrics,
    now: deps.now ?? (() => new Date()),
    peerAddress: deps.peerAddress ?? nodePeerAddress,
    trackerScript: deps.trackerScript === undefined ? loadTrackerScript() : deps.trackerScript,
  };

  const app = new Hono<CollectorEnv>();
  app.onError(onError);
  app.notFound((c) => onError(new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`), c));
  app.use('/v1/*', sourceCors(deps.config.sources));
  app.use('/v1/*', async (c, next) => {
    await next();
    if (c.req.method === 'POST') metrics.requests.inc({ status: String(c.res.status) });
  });
  if (deps.rateLimit) app.use('/v1/*', rateLimit({ trustedProxyHops: deps.config.trustProxy, ...deps.rateLimit }));

  registerIngestRoutes(app, routeDeps);
  registerSettingsRoute(app, routeDeps);
  registerTrackerScriptRoute(app, routeDeps);
  registerHealthRoutes(app, routeDeps);
  registerMetricsRoute(app, routeDeps);
  app.route('/v1/admin', dataRightsRoutes({ database: deps.database, adminKey: deps.config.adminKey, now: routeDeps.now }));
  return Object.assign(app, { writer, metrics });
}

function nodePeerAddress(c: Context<CollectorEnv>): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}
