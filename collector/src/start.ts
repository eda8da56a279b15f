import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './app.js';
import type { CollectorConfig } from './config.js';
import { createDatabase, type Database } from './db/database.js';
import { createGroupCommitWriter } from './ingest/group-commit-writer.js';
import { createMetrics } from './metrics.js';
import { startRetention } from './retention/index.js';

export interface RunningCollector {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  readonly port: number;
  readonly database: Database;
  readonly server: ServerType;
  /**
   * Graceful stop: stops accepting connections, answers 503 to requests that still arrive,
   * commits everything already taken, then closes the database.
   */
  close(): Promise<void>;
}

/**
 * Opens the database (migrating it), builds the app and serves it.
 *
 * @example
 * const collector = await startCollector(loadConfig(process.env));
 * console.log(`listening on ${collector.url}`);
 */
export async function startCollector(config: CollectorConfig, options: { database?: Database } = {}): Promise<RunningCollector> {
  const database =
    options.database ??
    (await createDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.poolSize }));
  let metrics: ReturnType<typeof createMetrics> | undefined;
  const writer = createGroupCommitWriter({
    db: database.db,
    connections: database.engine === 'pglite' ? 1 : Math.min(config.writerConnections, config.poolSize),
    onFlush: (stats) => metrics?.recordFlush(stats),
  });
  metrics = createMetrics(() => writer.queueDepth);
  const retention = await startRetention({ db: database.db, sources: config.sources, settings: config.retention });
  const app = createApp({ database, config, writer, metrics, rateLimit: config.rateLimit });

  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
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
