import { MAX_BATCH_BYTES, parseBatch } from '@tally/schemas';
import type { Context, Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';
import { ApiError, databaseUnavailable } from '../errors.js';
import { clientAddress } from '../ingest/client-ip.js';
import { WriterClosedError } from '../ingest/group-commit-writer.js';
import { parseJson } from '../ingest/parse-json.js';
import { prepareItems } from '../ingest/prepare.js';
import { readBody } from '../ingest/read-body.js';
import { recordConsentRefusals } from '../ingest/rejections.js';
import { authenticateSource, findSource, writeKeyFromHeader } from '../source-auth.js';

/** The single-message endpoints, long and short (Segment's browser SDK uses the short ones). */
const SINGLE_PATHS = {
  track: ['/v1/track', '/v1/t'],
  identify: ['/v1/identify', '/v1/i'],
  page: ['/v1/page', '/v1/p'],
  screen: ['/v1/screen', '/v1/s'],
  group: ['/v1/group', '/v1/g'],
  alias: ['/v1/alias', '/v1/a'],
} as const;

/**
 * `POST /v1/batch` (`/v1/b`) and the single-message endpoints, wire-compatible with the
 * Segment HTTP tracking API. Answers `200 { accepted, duplicates, rejected: [{ index,
 * messageId, reason, message }] }` once every event is committed to `events` or
 * `rejected_events`; `503` with `Retry-After` when the database did not take them.
 *
 * @example
 * registerIngestRoutes(app, deps);
 */
export function registerIngestRoutes(app: Hono<CollectorEnv>, deps: RouteDeps): void {
  for (const path of ['/v1/batch', '/v1/b']) app.post(path, (c) => ingest(c, deps, 'batch'));
  for (const [type, paths] of Object.entries(SINGLE_PATHS)) {
    for (const path of paths) app.post(path, (c) => ingest(c, deps, type));
  }
}

async function ingest(c: Context<CollectorEnv>, deps: RouteDeps, kind: string): Promise<Response> {
  const receivedAt = deps.now();
  const { sources } = deps.config;
  const authorization = c.req.header('authorization');
  // A wrong key in the header is refused before the body is read.
  const headerKey = writeKeyFromHeader(authorization);
  if (headerKey !== undefined && !findSource(headerKey, sources)) authenticateSource(authorization, undefined, sources);

  const body = parseJson(await readBody(c.req.raw, MAX_BATCH_BYTES));
  const source = authenticateSource(authorization, body, sources);
  c.set('source', source);

  let items: unknown[];
  let batchContext: Record<string, unknown> | undefined;
  let batchSentAt: string | undefined;
  if (kind === 'batch') {
    const envelope = parseBatch(body);
    if (!envelope.success) {
      const status = envelope.reason === 'too_large' ? 413 : 400;
      throw new ApiError(status, envelope.reason === 'too_large' ? 'batch_too_large' : 'invalid_batch', envelope.errors.join('; '));
    }
    items = envelope.data.batch;
    batchContext = envelope.data.context as Record<string, unknown> | undefined;
    batchSentAt = envelope.data.sentAt;
  } else {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError(400, 'invalid_message', `expected a ${kind} message object as the body`);
    }
    const { writeKey: _writeKey, ...message } = body as Record<string, unknown>;
    items = [{ ...message, type: kind }];
  }

  const request = {
    receivedAt,
    ip: clientAddress(c.req.header('x-forwarded-for'), deps.peerAddress(c), deps.config.trustProxy),
    userAgent: c.req.header('user-agent'),
  };
  const prepared = prepareItems(items, {
    source,
    request,
    skewThresholdMs: deps.config.skewThresholdMs,
    batchContext,
    batchSentAt,
    pathPrefix: kind === 'batch' ? 'batch' : '',
  });

  let result;
  try {
    result = await deps.writer.write({ events: prepared.events, rejected: prepared.rejected });
  } catch (error) {
    if (error instanceof WriterClosedError) {
      throw new ApiError(503, 'shutting_down', 'the collector is shutting down; nothing was stored, retry later', { 'Retry-After': '1' });
    }
    throw databaseUnavailable(error);
  }

  const { metrics } = deps;
  metrics.accepted.inc({ source: source.id }, result.accepted);
  metrics.duplicates.inc({ source: source.id }, result.duplicates);
  for (const item of prepared.rejectedItems) metrics.rejected.inc({ reason: item.reason });
  recordConsentRefusals(metrics, prepared.rejected);
  return c.json({ accepted: result.accepted, duplicates: result.duplicates, rejected: prepared.rejectedItems });
}
