import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './app.js';
import type { CollectorConfig } from './config.js';
import { createDatabase, type Database } from './db/database.js';
import { createGroupCommitWriter } from './ingest/group-commit-writer.js';
import { createLogger, type Logger } from './logger.js';
import { rejectedUsageToday } from './db/rejected-usage.js';
import { createMetrics } from './metrics.js';
import { loadTrackerScript } from './routes/tracker-script.js';
import { startRetention } from './retention/index.js';

export interface RunningCollector {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  readonly port: number;
  readonly database: Database;
  readonly server: ServerType;
  readonly logger: Logger;
  /**
   * Graceful stop: stops accepting connections, answers 503 to requests that still arrive,
   * commits everything already taken, then closes the database.
   */
  close(): Promise<void>;
}

/**
 * The composition root: opens the database (migrating it), builds the one writer, metrics
 * registry and logger, the app over them, and serves it with the configured timeouts and
 * connection cap.
 *
 * @example
 * const collector = await startCollector(loadConfig(process.env));
 * collector.logger.info({ url: collector.url }, 'listening');
 */
export async function startCollector(config: CollectorConfig, options: { database?: Database; logger?: Logger } = {}): Promise<RunningCollector> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const database =
    options.database ??
    (await createDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.poolSize }));
  let lastFailureLog = 0;
  const metrics = createMetrics(() => writer.queueDepth, {
    // At most one line every five seconds (an outage fails every transaction); the error's
    // class and code only, since a driver's message can quote the data it failed on.
    onWriteFailure(stats) {
      if (Date.now() - lastFailureLog < 5_000) return;
      lastFailureLog = Date.now();
      const { name, code } = (stats.error ?? {}) as { name?: string; code?: string };
      const { failure = 'statement', requests, failedRequests = 0, failedEvents = 0 } = stats;
      logger.error({ error: { name, code }, failure, requests, failedRequests, failedEvents }, 'write transaction failed');
    },
    rejectedUsage: () => rejectedUsageToday(database.db),
  });
  const writer = createGroupCommitWriter({
    db: database.db,
    connections: database.engine === 'pglite' ? 1 : Math.min(config.writerConnections, config.poolSize),
    onFlush: (stats) => metrics.recordFlush(stats),
  });
  const app = createApp({
    database,
    config,
    writer,
    metrics,
    logger,
    rateLimit: config.rateLimit,
    trackerScript: loadTrackerScript(config.trackerScriptPath),
  });
  const retention = await startRetention({ db: database.db, sources: config.sources, settings: config.retention });

  const limits = config.server;
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: config.host,
        serverOptions: {
          headersTimeout: limits.headersTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          // Node checks the two timeouts above on this interval (30 s by default).
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
        },
      },
      () => resolve(s),
    );
    s.maxConnections = limits.maxConnections;
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    database,
    server,
    logger,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        if ('closeIdleConnections' in server) server.closeIdleConnections();
        await writer.drain();
        await retention.stop();
        // Requests still open were refused by the closed writer; give them a moment to be answered.
        await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
        if ('closeAllConnections' in server) server.closeAllConnections();
        if (!options.database) await database.close();
      })();
      return closing;
    },
  };
}
