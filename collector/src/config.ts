import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { rateLimitConfigFromEnv, type RateLimitOptions } from './rate-limit/index.js';

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

const Port = z.coerce.number().int().min(0).max(65_535);
const PositiveInt = z.coerce.number().int().positive();
const Hops = z.union([
  z.enum(['true', 'false']).transform((value) => (value === 'true' ? 1 : 0)),
  z.coerce.number().int().min(0).max(10),
]);

/** Everything the collector reads from its environment, parsed once at start. */
export interface CollectorConfig {
  sources: Source[];
  /** Postgres connection string; absent → the embedded engine in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  port: number;
  host: string;
  /** How many proxies in front of the collector append to `X-Forwarded-For` (0: ignore the header). */
  trustProxy: number;
  /** Bearer key for administrative routes; absent → those routes answer 403. */
  adminKey: string | undefined;
  /** A client clock off by more than this (between `sentAt` and arrival) has its timestamps corrected. */
  skewThresholdMs: number;
  /** Connections to Postgres (the group-commit writer uses up to `writerConnections` of them). */
  poolSize: number;
  writerConnections: number;
  /** Request limits from `TALLY_RATE_LIMIT_*` (see `rate-limit/config.ts`); none when absent. */
  rateLimit?: RateLimitOptions | undefined;
  /** True when no source was configured and the development source is in use. */
  usingDevelopmentSource: boolean;
}

/** The source used when none is configured, so that `pnpm start` works out of the box. */
export const DEVELOPMENT_SOURCE: Source = {
  id: 'dev',
  writeKey: 'dev-write-key',
  allowedOrigins: ['*'],
  consentMode: 'opt-out',
};

/** A configuration value that stops the collector from starting; the message names it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the collector's configuration from the environment: sources from `TALLY_CONFIG`
 * (path to a JSON file `{ "sources": [...] }`) or `TALLY_SOURCES` (the same JSON, or just
 * its array, inline), `DATABASE_URL`, `PORT`, `HOST`, `TALLY_DATA_DIR`, `TALLY_TRUST_PROXY`,
 * `TALLY_ADMIN_KEY`, `TALLY_SKEW_THRESHOLD_MS`, `TALLY_DB_POOL_SIZE`, `TALLY_WRITER_CONNECTIONS`.
 * Throws a `ConfigError` naming the variable and field at fault.
 *
 * @example
 * const config = loadConfig(process.env);
 * // TALLY_SOURCES='[{"id":"shop","writeKey":"shop-key-1234","allowedOrigins":["https://shop.example"]}]'
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): CollectorConfig {
  const sources = loadSources(env);
  const databaseUrl = nonEmpty(env.DATABASE_URL);
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL: expected a postgres:// or postgresql:// connection string');
  }
  return {
    sources: sources ?? [DEVELOPMENT_SOURCE],
    usingDevelopmentSource: sources === undefined,
    databaseUrl,
    dataDir: nonEmpty(env.TALLY_DATA_DIR) ?? '.tally-data',
    port: parseVariable(env, 'PORT', Port, 3000),
    host: nonEmpty(env.HOST) ?? '0.0.0.0',
    trustProxy: parseVariable(env, 'TALLY_TRUST_PROXY', Hops, 0),
    adminKey: nonEmpty(env.TALLY_ADMIN_KEY),
    skewThresholdMs: parseVariable(env, 'TALLY_SKEW_THRESHOLD_MS', PositiveInt, 60_000),
    poolSize: parseVariable(env, 'TALLY_DB_POOL_SIZE', PositiveInt, 4),
    writerConnections: parseVariable(env, 'TALLY_WRITER_CONNECTIONS', PositiveInt, 2),
    rateLimit: loadRateLimit(env),
  };
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

function loadRateLimit(env: Record<string, string | undefined>): RateLimitOptions {
  try {
    return rateLimitConfigFromEnv(env);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

function loadSources(env: Record<string, string | undefined>): Source[] | undefined {
  const file = nonEmpty(env.TALLY_CONFIG);
  const inline = nonEmpty(env.TALLY_SOURCES);
  if (file !== undefined && inline !== undefined) {
    throw new ConfigError('TALLY_CONFIG and TALLY_SOURCES: set one of them, not both');
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`TALLY_CONFIG: cannot read ${file}: ${(error as Error).message}`);
    }
    return parseSources(parseJson(text, `TALLY_CONFIG (${file})`), `TALLY_CONFIG (${file})`);
  }
  if (inline !== undefined) return parseSources(parseJson(inline, 'TALLY_SOURCES'), 'TALLY_SOURCES');
  return undefined;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${where}: not valid JSON: ${(error as Error).message}`);
  }
}

function parseVariable<T>(env: Record<string, string | undefined>, name: string, schema: z.ZodType<T>, fallback: T): T {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(`${name}: ${result.error.issues[0]?.message ?? 'invalid'} (got "${raw}")`);
  return result.data;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function originOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}
