import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import type { BucketRate } from './rate-limit/token-bucket.js';
import type { RetentionSettings } from './retention/config.js';

/** How a source treats events whose consent category carries no decision. */
export const ConsentMode = z.enum(['opt-in', 'opt-out']);
export type ConsentMode = z.infer<typeof ConsentMode>;

const Origin = z.string().refine((value) => value === '*' || originOf(value) === value, {
  message: 'expected "*" or an origin such as "https://shop.example" (scheme, host and port only)',
});

/** A site or app that sends events, known by its write key. */
export const Source = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1–64 letters, digits, ".", "_" or "-"'),
  writeKey: z.string().min(8, 'expected at least 8 characters'),
  allowedOrigins: z.array(Origin).default([]),
  consentMode: ConsentMode.default('opt-out'),
  /** Days this source's events are kept (see retention/expire.ts); absent: kept until deleted by hand. */
  retentionDays: z.number().int('expected a whole number of days').positive('expected 1 day or more').optional(),
  /** `client`: a public key (browser, mobile); `server`: a secret key. See `identity/source-trust.ts`. */
  kind: z.enum(['client', 'server']).default('client'),
  /** With it, a userId counts only with `context.userHash` = hex HMAC-SHA256 of the userId under this secret. */
  identitySecret: z.string().min(16, 'expected at least 16 characters').optional(),
  /**
   * Whether the collector sets the anonymousId cookie (`tally_aid`) from the server when it is reached
   * under the site's own origin (see `anonymous-id-cookie.ts`); absent: `TALLY_ANONYMOUS_ID_COOKIE`.
   */
  anonymousIdCookie: z.boolean().optional(),
  /** How much of its refused events the source may make us store per UTC day (see `ingest/rejections.ts`). */
  rejectedBudget: z
    .object({ rowsPerDay: z.number().int().min(0), bytesPerDay: z.number().int().min(0) })
    .partial()
    .optional(),
});
export type Source = z.infer<typeof Source>;

const Sources = z
  .array(Source)
  .min(1, 'expected at least one source')
  .superRefine((sources, ctx) => {
    const seen = { id: new Set<string>(), writeKey: new Set<string>() };
    sources.forEach((source, index) => {
      for (const field of ['id', 'writeKey'] as const) {
        if (seen[field].has(source[field])) {
          ctx.addIssue({ code: 'custom', path: [index, field], message: `another source already has this ${field}` });
        }
        seen[field].add(source[field]);
      }
    });
  });

const ConfigFile = z.object({ sources: Sources });

/** The built tracker in this repository (`sdk-web/dist/tally.js`), from `src/` or `dist/` alike. */
export const DEFAULT_TRACKER_SCRIPT = fileURLToPath(new URL('../../sdk-web/dist/tally.js', import.meta.url));

// Every variable the collector and its command-line tools read, in one schema. An empty
// value counts as unset.
const unset = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : typeof value === 'string' ? value.trim() : value);
const text = () => z.preprocess(unset, z.string().optional());
const int = (min: number, max: number, fallback: number) =>
  z.preprocess(unset, z.coerce.number().int(`expected a whole number`).min(min, `expected at least ${min}`).max(max, `expected at most ${max}`).default(fallback));
const rate = (fallback: number) => z.preprocess(unset, z.coerce.number('expected a number').min(0, 'expected 0 (off) or more').default(fallback));
const secret = (min: number) => z.preprocess(unset, z.string().min(min, `expected at least ${min} characters`).optional());

const Environment = z.object({
  TALLY_CONFIG: text(),
  TALLY_SOURCES: text(),
  DATABASE_URL: z.preprocess(unset, z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// connection string').optional()),
  TALLY_DATA_DIR: z.preprocess(unset, z.string().default('.tally-data')),
  TALLY_DB_POOL_SIZE: int(1, 1_000, 4),
  TALLY_WRITER_CONNECTIONS: int(1, 100, 2),
  TALLY_WORKERS: int(1, 256, availableParallelism()),
  PORT: int(0, 65_535, 3000),
  HOST: z.preprocess(unset, z.string().default('127.0.0.1')),
  TALLY_PUBLIC_URL: z.preprocess(
    unset,
    z.string().refine((value) => /^https?:$/.test(safeUrl(value)?.protocol ?? '') && originOf(value) === value.replace(/\/$/, ''), {
      message: 'expected the origin senders reach the collector at, such as "https://collect.example.com" (no path)',
    }).transform((value) => value.replace(/\/$/, '')).optional(),
  ),
  TALLY_TRUST_PROXY: z.preprocess(
    unset,
    z.union([z.enum(['true', 'false']).transform((value) => (value === 'true' ? 1 : 0)), z.coerce.number().int().min(0).max(10)], {
      error: 'expected a number of proxy hops from 0 to 10, or true/false',
    }).default(0),
  ),
  TALLY_ADMIN_KEY: secret(32),
  TALLY_METRICS_TOKEN: secret(16),
  TALLY_SKEW_THRESHOLD_MS: int(1, 86_400_000, 60_000),
  TALLY_RATE_LIMIT_WRITE_KEY_RPS: rate(2000),
  TALLY_RATE_LIMIT_WRITE_KEY_BURST: rate(0),
  TALLY_RATE_LIMIT_IP_RPS: rate(100),
  TALLY_RATE_LIMIT_IP_BURST: rate(0),
  TALLY_HEADERS_TIMEOUT_MS: int(100, 600_000, 10_000),
  TALLY_REQUEST_TIMEOUT_MS: int(100, 3_600_000, 30_000),
  TALLY_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000, 5_000),
  TALLY_MAX_CONNECTIONS: int(1, 1_000_000, 1_024),
  TALLY_TRACKER_SCRIPT: z.preprocess(unset, z.string().default(DEFAULT_TRACKER_SCRIPT)),
  TALLY_TRACKER_SCRIPT_NAME: z.preprocess(
    unset,
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.js$/, 'expected a file name ending in .js, such as "p.js" (letters, digits, ".", "_", "-")').optional(),
  ),
  TALLY_ANONYMOUS_ID_COOKIE: z.preprocess(unset, z.enum(['true', 'false'], 'expected true or false').default('false').transform((value) => value === 'true')),
  TALLY_LOG_LEVEL: z.preprocess(unset, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info')),
  TALLY_RETENTION_INTERVAL_MS: int(1_000, 7 * 86_400_000, 3_600_000),
  TALLY_REJECTED_RETENTION_DAYS: int(1, 36_500, 30),
  TALLY_ROLLUP_INTERVAL_MS: int(1_000, 86_400_000, 300_000),
  TALLY_DASHBOARD: z.preprocess(unset, z.enum(['on', 'off'], { error: 'expected "on" or "off"' }).default('off')),
  TALLY_DASHBOARD_PASSWORD: secret(12),
  TALLY_DASHBOARD_DATABASE_URL: z.preprocess(unset, z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// connection string').optional()),
  TALLY_IMPORT_THRESHOLD: z.preprocess(
    unset,
    z.coerce.number('expected a number').min(0, 'expected a confidence from 0 to 1').max(1, 'expected a confidence from 0 to 1').default(0.9),
  ),
  TALLY_IMPORT_PHONE_COUNTRY: z.preprocess(
    (value) => (typeof unset(value) === 'string' ? (unset(value) as string).toUpperCase() : unset(value)),
    z.string().regex(/^[A-Z]{2}$/, 'expected a two-letter country code such as "GB" or "US"').optional(),
  ),
  TALLY_IMPORT_SOURCE_ID: z.preprocess(unset, z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1–64 letters, digits, ".", "_" or "-"').default('import')),
});
type Environment = z.infer<typeof Environment>;

/** Per-write-key and per-address request limits; `false` turns one off. */
export interface RateLimitConfig {
  readonly perWriteKey: BucketRate | false;
  readonly perIp: BucketRate | false;
}

/** Limits the HTTP server puts on each connection, against slow and piled-up clients. */
export interface ServerLimits {
  /** Time to receive a request's headers (Node's `headersTimeout`). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included (Node's `requestTimeout`). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; more are closed as they arrive. */
  maxConnections: number;
}

/** The dashboard at `/dashboard` (see `dashboard/`), when `TALLY_DASHBOARD=on`. */
export interface DashboardConfig {
  /** A password that opens the dashboard (12 characters or more); the admin key opens it too. */
  password: string | undefined;
  /**
   * On Postgres, a login role that is a member of `tally_dashboard` (read-only) and nothing
   * more: every dashboard query runs on connections of this role. Required with `DATABASE_URL`.
   */
  databaseUrl: string | undefined;
}

/** How customer imports match and write (see `import/`). */
export interface ImportSettings {
  /** A match at or above this confidence merges the record into the customer; below, it waits for review. */
  threshold: number;
  /** The country (ISO 3166 alpha-2) of phone numbers written without a country code; absent → such numbers are refused. */
  defaultCountry: string | undefined;
  /** The source imports write as: the `source_id` of their events and the source of their traits. */
  sourceId: string;
}

/** The import settings when none are configured. */
export const DEFAULT_IMPORT_SETTINGS: ImportSettings = { threshold: 0.9, defaultCountry: undefined, sourceId: 'import' };

/** Where a command-line tool finds the database. */
export interface DatabaseLocation {
  /** Postgres connection string; absent → the embedded engine in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
}

/** Everything the collector reads from its environment, parsed once at start. */
export interface CollectorConfig extends DatabaseLocation {
  sources: Source[];
  port: number;
  /** Address to listen on; 127.0.0.1 unless `HOST` says otherwise (a container sets 0.0.0.0). */
  host: string;
  /** The origin senders reach the collector at, for the settings document; absent → the request's Host, not cached. */
  publicUrl: string | undefined;
  /** How many proxies in front of the collector append to `X-Forwarded-For` (0: ignore the header). */
  trustProxy: number;
  /** Bearer key for administrative routes (32 characters or more); absent → those routes answer 404. */
  adminKey: string | undefined;
  /** Bearer token `/metrics` requires; absent → `/metrics` is open. */
  metricsToken: string | undefined;
  /** A client clock off by more than this (between `sentAt` and arrival) has its timestamps corrected. */
  skewThresholdMs: number;
  /** Connections to Postgres (the group-commit writer uses up to `writerConnections` of them). */
  poolSize: number;
  writerConnections: number;
  /** Collector processes on Postgres (node:cluster), each with its own pool and writer; one per core by default. */
  workers: number;
  rateLimit: RateLimitConfig;
  server: ServerLimits;
  /** The browser tracker file served at `/t.js`. */
  trackerScriptPath: string;
  /** The file name the tracker is served under instead of `t.js` and `tally.js` (`TALLY_TRACKER_SCRIPT_NAME`). */
  trackerScriptName: string | undefined;
  /** Whether sources that do not say set the anonymousId cookie from the server (`TALLY_ANONYMOUS_ID_COOKIE`). */
  anonymousIdCookie: boolean;
  logLevel: Environment['TALLY_LOG_LEVEL'];
  /** Retention schedule from `TALLY_RETENTION_INTERVAL_MS`, `TALLY_REJECTED_RETENTION_DAYS` and `TALLY_ROLLUP_INTERVAL_MS` (see `retention/`). */
  retention: RetentionSettings;
  /** True when no source was configured and the development source is in use. */
  usingDevelopmentSource: boolean;
  /** The dashboard's settings; absent (the default) → `/dashboard` answers 404. */
  dashboard: DashboardConfig | undefined;
  /** Customer imports: `TALLY_IMPORT_THRESHOLD`, `TALLY_IMPORT_PHONE_COUNTRY`, `TALLY_IMPORT_SOURCE_ID`. */
  customerImport: ImportSettings;
}

/** The source used when none is configured, so that `pnpm start` works out of the box. */
export const DEVELOPMENT_SOURCE: Source = {
  id: 'dev',
  writeKey: 'dev-write-key',
  allowedOrigins: ['*'],
  consentMode: 'opt-out',
  kind: 'client',
};

/** A configuration value that stops the collector from starting; the message names it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the collector's configuration from the environment, every variable through one
 * schema (the table in `collector/README.md` lists them): sources from `TALLY_CONFIG` (path
 * to a JSON file `{ "sources": [...] }`) or `TALLY_SOURCES` (the same JSON, or just its
 * array, inline), the database, the listening address, limits and secrets.
 * Throws a `ConfigError` naming the variable and field at fault.
 *
 * @example
 * const config = loadConfig(process.env);
 * // TALLY_SOURCES='[{"id":"shop","writeKey":"shop-key-1234","allowedOrigins":["https://shop.example"]}]'
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): CollectorConfig {
  const e = parseEnvironment(env);
  const sources = loadSources(e);
  if (e.TALLY_HEADERS_TIMEOUT_MS > e.TALLY_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('TALLY_HEADERS_TIMEOUT_MS: must not be longer than TALLY_REQUEST_TIMEOUT_MS');
  }
  const dashboard = loadDashboard(e);
  const bucket = (ratePerSecond: number, burst: number): BucketRate | false =>
    ratePerSecond > 0 ? { ratePerSecond, burst: Math.max(1, burst || ratePerSecond * 2) } : false;
  return {
    sources: sources ?? [DEVELOPMENT_SOURCE],
    usingDevelopmentSource: sources === undefined,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.TALLY_DATA_DIR,
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.TALLY_PUBLIC_URL,
    trustProxy: e.TALLY_TRUST_PROXY,
    adminKey: e.TALLY_ADMIN_KEY,
    metricsToken: e.TALLY_METRICS_TOKEN,
    skewThresholdMs: e.TALLY_SKEW_THRESHOLD_MS,
    poolSize: e.TALLY_DB_POOL_SIZE,
    writerConnections: e.TALLY_WRITER_CONNECTIONS,
    workers: e.TALLY_WORKERS,
    rateLimit: {
      perWriteKey: bucket(e.TALLY_RATE_LIMIT_WRITE_KEY_RPS, e.TALLY_RATE_LIMIT_WRITE_KEY_BURST),
      perIp: bucket(e.TALLY_RATE_LIMIT_IP_RPS, e.TALLY_RATE_LIMIT_IP_BURST),
    },
    server: {
      headersTimeoutMs: e.TALLY_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.TALLY_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.TALLY_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: e.TALLY_MAX_CONNECTIONS,
    },
    trackerScriptPath: e.TALLY_TRACKER_SCRIPT,
    trackerScriptName: e.TALLY_TRACKER_SCRIPT_NAME,
    anonymousIdCookie: e.TALLY_ANONYMOUS_ID_COOKIE,
    logLevel: e.TALLY_LOG_LEVEL,
    retention: { intervalMs: e.TALLY_RETENTION_INTERVAL_MS, rejectedRetentionDays: e.TALLY_REJECTED_RETENTION_DAYS, rollupIntervalMs: e.TALLY_ROLLUP_INTERVAL_MS },
    dashboard,
    customerImport: importSettingsOf(e),
  };
}

function loadDashboard(e: Environment): DashboardConfig | undefined {
  if (e.TALLY_DASHBOARD === 'off') return undefined;
  if (e.TALLY_DASHBOARD_PASSWORD === undefined && e.TALLY_ADMIN_KEY === undefined) {
    throw new ConfigError('TALLY_DASHBOARD: "on" needs TALLY_DASHBOARD_PASSWORD or TALLY_ADMIN_KEY to log in with');
  }
  if (e.DATABASE_URL !== undefined && e.TALLY_DASHBOARD_DATABASE_URL === undefined) {
    throw new ConfigError(
      'TALLY_DASHBOARD_DATABASE_URL: required with DATABASE_URL when TALLY_DASHBOARD is "on": a login role that is a member of tally_dashboard (see collector/README.md)',
    );
  }
  return { password: e.TALLY_DASHBOARD_PASSWORD, databaseUrl: e.TALLY_DASHBOARD_DATABASE_URL };
}

/**
 * The customer-import settings alone, for the `import` command-line tool.
 *
 * @example
 * const { threshold, defaultCountry } = loadImportSettings(process.env);
 */
export function loadImportSettings(env: Record<string, string | undefined> = process.env): ImportSettings {
  return importSettingsOf(
    parseEnvironment(env, Environment.pick({ TALLY_IMPORT_THRESHOLD: true, TALLY_IMPORT_PHONE_COUNTRY: true, TALLY_IMPORT_SOURCE_ID: true })),
  );
}

function importSettingsOf(e: Environment): ImportSettings {
  return { threshold: e.TALLY_IMPORT_THRESHOLD, defaultCountry: e.TALLY_IMPORT_PHONE_COUNTRY, sourceId: e.TALLY_IMPORT_SOURCE_ID };
}

/**
 * The database settings alone (`DATABASE_URL`, `TALLY_DATA_DIR`), for command-line tools
 * that open the database without serving anything.
 *
 * @example
 * const { databaseUrl, dataDir } = loadDatabaseLocation(process.env);
 */
export function loadDatabaseLocation(env: Record<string, string | undefined> = process.env): DatabaseLocation {
  const e = parseEnvironment(env, Environment.pick({ DATABASE_URL: true, TALLY_DATA_DIR: true }));
  return { databaseUrl: e.DATABASE_URL, dataDir: e.TALLY_DATA_DIR };
}

/**
 * Checks a list of sources the way `loadConfig` does; `where` names their origin in errors.
 *
 * @example
 * const sources = parseSources([{ id: 'shop', writeKey: 'shop-key-1234' }]);
 */
export function parseSources(input: unknown, where = 'sources'): Source[] {
  const wrapped = Array.isArray(input) ? { sources: input } : input;
  const result = ConfigFile.safeParse(wrapped);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
    throw new ConfigError(`${where}: ${path.replace(/^\./, '') || '(root)'}: ${issue.message}`);
  }
  return result.data.sources;
}

function parseEnvironment<S extends z.ZodType<Partial<Environment>>>(env: Record<string, string | undefined>, schema?: S): Environment {
  const result = (schema ?? Environment).safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const raw = env[name];
    // Secrets are never echoed back.
    const shown = raw === undefined || /KEY|TOKEN|URL|PASSWORD/.test(name) ? '' : ` (got "${raw}")`;
    throw new ConfigError(`${name}: ${issue.message}${shown}`);
  }
  return result.data as Environment;
}

function loadSources(e: Environment): Source[] | undefined {
  const file = e.TALLY_CONFIG;
  const inline = e.TALLY_SOURCES;
  if (file !== undefined && inline !== undefined) {
    throw new ConfigError('TALLY_CONFIG and TALLY_SOURCES: set one of them, not both');
  }
  if (file !== undefined) {
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`TALLY_CONFIG: cannot read ${file}: ${(error as Error).message}`);
    }
    return parseSources(parseJson(content, `TALLY_CONFIG (${file})`), `TALLY_CONFIG (${file})`);
  }
  if (inline !== undefined) return parseSources(parseJson(inline, 'TALLY_SOURCES'), 'TALLY_SOURCES');
  return undefined;
}

function parseJson(content: string, where: string): unknown {
  try {
    return JSON.parse(content);
  } catch (error) {
    throw new ConfigError(`${where}: not valid JSON: ${(error as Error).message}`);
  }
}

function safeUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function originOf(value: string): string | undefined {
  const url = safeUrl(value);
  return url === undefined || url.origin === 'null' ? undefined : url.origin;
}
