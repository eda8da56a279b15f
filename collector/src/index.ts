export { createApp, type AppDeps } from './app.js';
export type { AppConfig, CollectorEnv } from './app-context.js';
export {
  ConfigError,
  ConsentMode,
  DEVELOPMENT_SOURCE,
  loadConfig,
  loadDatabaseLocation,
  parseSources,
  Source,
  type CollectorConfig,
  type DatabaseLocation,
} from './config.js';
export { createDatabase, type Database, type DatabaseConfig } from './db/database.js';
export { migrateToLatest } from './db/migrate.js';
export { checkStatement, type StatementCheck, type StatementPlace } from './db/read-only-statement.js';
export type { Database as Tables } from './db/schema/database.js';
export { ApiError } from './errors.js';
export {
  createGroupCommitWriter,
  WriterClosedError,
  type EventWriter,
  type GroupCommitWriterOptions,
  type WriteRequest,
  type WriteResult,
} from './ingest/group-commit-writer.js';
export type { EventRecord, RejectedRecord, RejectionReason } from './ingest/records.js';
export { createLogger, type Logger } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export { loadTrackerScript } from './routes/tracker-script.js';
export { startCollector, type RunningCollector } from './start.js';
