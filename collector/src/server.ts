#!/usr/bin/env node
import { ConfigError, loadConfig, type CollectorConfig } from './config.js';
import { startCollector } from './start.js';

// The `tally-collector` command: configuration from the environment, then serve until
// SIGTERM or SIGINT, on which it stops accepting, commits what it holds and exits.
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

const collector = await startCollector(config).catch((error: unknown) => {
  console.error(`tally-collector: cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
const { logger } = collector;
if (config.usingDevelopmentSource) {
  logger.warn(
    'no sources configured (TALLY_CONFIG or TALLY_SOURCES): using the development source "dev" with write key "dev-write-key", open to every origin',
  );
}
const engine = collector.database.engine === 'postgres' ? 'Postgres' : `embedded PGlite in ${config.dataDir}`;
logger.info({ url: collector.url }, `listening on ${collector.url} (${engine}, ${config.sources.length} source(s))`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
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
