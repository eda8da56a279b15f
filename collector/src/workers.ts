import cluster, { type Worker } from 'node:cluster';
import { answerMetricsRequests } from './cluster-metrics.js';
import type { CollectorConfig } from './config.js';
import { createDatabase } from './db/database.js';
import type { Logger } from './logger.js';
import { startRetention } from './retention/index.js';

/**
 * How many collector processes serve: `TALLY_WORKERS` on Postgres; always one on the embedded
 * engine, whose data directory only one process can open.
 */
export function workerCount(config: CollectorConfig): number {
  return config.databaseUrl === undefined ? 1 : config.workers;
}

export interface CollectorPrimary {
  /** Resolves with the exit code once every worker has exited after `stop()`. */
  readonly stopped: Promise<number>;
  /** Sends every worker SIGTERM; each commits what it holds and exits. */
  stop(signal: NodeJS.Signals): void;
}

/**
 * The primary of a collector with several worker processes (node:cluster): migrates the
 * database and runs retention once, then forks `count` workers that share the listening port
 * (the primary hands them connections in turn), each with its own pool and group-commit writer
 * (`startCollector` with `retention: false`). Logs the listening line once every worker
 * listens, and gathers the workers' metrics for whichever of them is scraped
 * (cluster-metrics.ts). A worker that dies while the collector is not stopping is replaced.
 * On `stop()` each worker gets SIGTERM and drains as a single process does; the exit code
 * is 0 when every worker exited 0.
 *
 * @example
 * const primary = await startPrimary(config, logger, 4);
 * process.once('SIGTERM', () => primary.stop('SIGTERM'));
 * process.exit(await primary.stopped);
 */
export async function startPrimary(config: CollectorConfig, logger: Logger, count: number): Promise<CollectorPrimary> {
  // Migrations and partitions before any worker opens the database; the primary keeps one
  // connection for retention.
  const database = await createDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  const retention = await startRetention({ db: database.db, sources: config.sources, settings: config.retention });

  let stopping = false;
  let failed = false;
  const listening = new Set<number>();
  const everListened = new Set<number>();
  let announced = false;
  let settle!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (settle = resolve));
  let finished: Promise<void> | undefined;
  // Once no worker is left: retention stops, the primary's connection closes, once.
  const finish = () =>
    (finished ??= (async () => {
      await retention.stop();
      await database.close();
      settle(failed ? 1 : 0);
    })());

  answerMetricsRequests();
  const fork = (): Worker => cluster.fork();
  cluster.on('listening', (worker, address) => {
    listening.add(worker.id);
    everListened.add(worker.id);
    if (announced || listening.size < count) return;
    announced = true;
    const host = address.address === '0.0.0.0' || address.address === '::' || !address.address ? '127.0.0.1' : address.address;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    logger.info({ url, workers: count }, `listening on ${url} (Postgres, ${count} workers, ${config.sources.length} source(s))`);
  });
  cluster.on('exit', (worker, code, signal) => {
    const started = everListened.has(worker.id);
    listening.delete(worker.id);
    if (code !== 0) failed = true;
    if (!stopping && started) {
      logger.error({ worker: worker.id, code, signal }, 'worker exited; starting another');
      fork();
      return;
    }
    if (!stopping) {
      // A worker that could not even start (port taken, database gone): the others would fail
      // alike, so the collector stops rather than fork forever.
      logger.error({ worker: worker.id, code, signal }, 'worker failed to start; stopping');
      primary.stop('SIGTERM');
    }
    if (Object.keys(cluster.workers ?? {}).length > 0) return;
    void finish();
  });
  for (let i = 0; i < count; i++) fork();

  const primary: CollectorPrimary = {
    stopped,
    stop(signal) {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: count }, `${signal}: finishing queued writes in ${count} workers`);
      const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
      if (workers.length === 0) void finish();
      for (const worker of workers) worker.process.kill('SIGTERM');
    },
  };
  return primary;
}
