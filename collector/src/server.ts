#!/usr/bin/env node
import cluster from 'node:cluster';
import { ConfigError, loadConfig, type CollectorConfig } from './config.js';
import { createLogger } from './logger.js';
import { startCollector } from './start.js';
import { startPrimary, workerCount } from './workers.js';

// The `tally-collector` command: configuration from the environment, then serve until
// SIGTERM or SIGINT, on which it stops accepting, commits what it holds and exits. With
// TALLY_WORKERS above 1 (Postgres only) this process is the primary and the workers serve
// (see workers.ts); each of them drains on SIGTERM as a single process does.
let config: CollectorConfig;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`tally-collector: bad configuration: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

const cannotStart = (error: unknown): never => {
  console.error(`tally-collector: cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
};
const workers = workerCount(config);
const signals = ['SIGTERM', 'SIGINT'] as const;

if (workers > 1 && cluster.isPrimary) {
  const logger = createLogger({ level: config.logLevel });
  if (config.usingDevelopmentSource) warnDevelopmentSource(logger);
  const primary = await startPrimary(config, logger, workers).catch(cannotStart);
  // A signal may reach the workers too (a terminal's Ctrl-C goes to the whole group); each
  // drains once whoever sends it.
  for (const signal of signals) process.on(signal, () => primary.stop(signal));
  process.exit(await primary.stopped);
} else {
  const inWorker = cluster.isWorker;
  // A worker's lines carry its number, so that a line can be told from the other workers'.
  const base = createLogger({ level: config.logLevel });
  const collector = await startCollector(config, { retention: !inWorker, logger: inWorker ? base.child({ worker: cluster.worker!.id }) : base }).catch(
    cannotStart,
  );
  const { logger } = collector;
  if (inWorker) {
    logger.debug('worker listening');
  } else {
    if (config.usingDevelopmentSource) warnDevelopmentSource(logger);
    const engine = collector.database.engine === 'postgres' ? 'Postgres' : `embedded PGlite in ${config.dataDir}`;
    logger.info({ url: collector.url }, `listening on ${collector.url} (${engine}, ${config.sources.length} source(s))`);
  }
  let stopping = false;
  for (const signal of signals) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, `${signal}: finishing queued writes`);
      collector.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ error: { name: (error as Error)?.name } }, 'error while stopping');
          process.exit(1);
        },
      );
    });
  }
}

function warnDevelopmentSource(logger: { warn(message: string): void }): void {
  logger.warn(
    'no sources configured (TALLY_CONFIG or TALLY_SOURCES): using the development source "dev" with write key "dev-write-key", open to every origin',
  );
}
