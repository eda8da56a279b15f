import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { CollectorConfig, Source } from './config.js';
import type { Database } from './db/database.js';
import type { EventWriter } from './ingest/group-commit-writer.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** What an ingestion request came to, for the request's log line. */
export interface RequestOutcome {
  accepted: number;
  duplicates: number;
  rejected: number;
}

/**
 * Hono's typing of the collector's requests: the authenticated source, when there is one, and
 * the Node request and response when a Node server serves it (absent in-process).
 */
export interface CollectorEnv {
  Bindings: Partial<HttpBindings> | undefined;
  Variables: {
    source: Source | undefined;
    outcome?: RequestOutcome | undefined;
    /** An unexpected error's class and code, for the request's log line (never its message, which can quote data). */
    failure?: { name: string; code?: string | undefined } | undefined;
  };
}

/** The settings of the collector its routes read. */
export type AppConfig = Pick<CollectorConfig, 'sources' | 'trustProxy' | 'skewThresholdMs' | 'adminKey'> &
  Partial<Pick<CollectorConfig, 'publicUrl' | 'metricsToken' | 'trackerScriptName' | 'anonymousIdCookie' | 'customerImport'>>;

/** What every route module receives when it registers its routes. */
export interface RouteDeps {
  database: Database;
  config: AppConfig;
  writer: EventWriter;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** The socket peer's address of a request (absent for in-process requests). */
  peerAddress: (c: Context<CollectorEnv>) => string | undefined;
  /** Charges a request to a valid write key's rate limit; throws `ApiError` 429 when it is spent. */
  limitWriteKey: (c: Context<CollectorEnv>, writeKey: string) => void;
  /** The browser tracker script, or null when it has not been built. */
  trackerScript: string | null;
}
