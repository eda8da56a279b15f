import { MAX_BATCH_BYTES, parseBatch, tryEncodeJson } from '@tally/schemas';
import type { Context, Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';
import { anonymousIdCookie } from '../anonymous-id-cookie.js';
import { ApiError, writeRefused } from '../errors.js';
import { parseJson } from '../ingest/parse-json.js';
import { prepareItems } from '../ingest/prepare.js';
import { readBody } from '../ingest/read-body.js';
import { identityRefusals } from '../identity/source-trust.js';
import { recordConsentRefusals, rejectedBudgetOf } from '../ingest/rejections.js';
import { withWriteFailures } from '../ingest/write-failure.js';
import { clientAddress, identifyRequest } from '../request-identity.js';

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
 * `POST /v1/batch` (`/v1/b`, `/v1/import`) and the single-message endpoints, wire-compatible with the
 * Segment HTTP tracking API. Answers `200 { accepted, duplicates, rejected: [{ index,
 * messageId, reason, message }] }` once every event is committed to `events` or
 * `rejected_events`; `503` with `Retry-After` when the database could not be reached, `500`
 * when the request failed on its own (docs/design.md §2); 401 for a missing or unknown write
 * key, 403 for a page whose origin the source does not allow.
 *
 * @example
 * registerIngestRoutes(app, deps);
 */
export function registerIngestRoutes(app: Hono<CollectorEnv>, deps: RouteDeps): void {
  // analytics-android 4.x uploads its batches to /v1/import, a path it does not let apps change.
  for (const path of ['/v1/batch', '/v1/b', '/v1/import']) app.post(path, (c) => ingest(c, deps, 'batch'));
  for (const [type, paths] of Object.entries(SINGLE_PATHS)) {
    for (const path of paths) app.post(path, (c) => ingest(c, deps, type));
  }
}

async function ingest(c: Context<CollectorEnv>, deps: RouteDeps, kind: string): Promise<Response> {
  const receivedAt = deps.now();
  // Who sent it: the write key (header before the body is read, else the body's), the
  // source's allowed origins, then that key's rate limit.
  const { source, body } = await identifyRequest(
    c,
    { sources: deps.config.sources, limitWriteKey: deps.limitWriteKey },
    async () => parseJson(await readBody(c.req.raw, MAX_BATCH_BYTES, c.env?.incoming).catch(abortedBody)),
  );
  c.set('source', source);

  let items: unknown[];
  let batchContext: Record<string, unknown> | undefined;
  let batchSentAt: string | undefined;
  let warnings: string[] | undefined;
  let encodedBatch: { json: string; bytes: number } | undefined;
  if (kind === 'batch') {
    // One encoding of the whole batch serves its size limit, its items' and their storability.
    // A body it cannot encode (nested too deep for the stack) is refused by parseBatch: 400.
    encodedBatch = tryEncodeJson(body);
    const envelope = parseBatch(body, encodedBatch?.bytes);
    if (!envelope.success) {
      const status = envelope.reason === 'too_large' ? 413 : 400;
      throw new ApiError(status, envelope.reason === 'too_large' ? 'batch_too_large' : 'invalid_batch', envelope.errors.join('; '));
    }
    items = envelope.data.batch;
    batchContext = envelope.data.context as Record<string, unknown> | undefined;
    batchSentAt = envelope.data.sentAt;
    warnings = envelope.warnings;
  } else {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError(400, 'invalid_message', `expected a ${kind} message object as the body`);
    }
    const { writeKey: _writeKey, ...message } = body as Record<string, unknown>;
    items = [{ ...message, type: kind }];
  }

  const request = {
    receivedAt,
    ip: clientAddress(c, deps.config.trustProxy, deps.peerAddress(c)),
    userAgent: c.req.header('user-agent'),
  };
  const prepared = prepareItems(items, {
    source,
    request,
    skewThresholdMs: deps.config.skewThresholdMs,
    batchContext,
    batchSentAt,
    encodedBatch,
    pathPrefix: kind === 'batch' ? 'batch' : '',
  });

  let result;
  try {
    result = await deps.writer.write({ events: prepared.events, rejected: prepared.rejected, sourceKind: source.kind, rejectedBudget: rejectedBudgetOf(source) });
  } catch (error) {
    throw writeRefused(error);
  }
  const rejected = withWriteFailures(prepared, result.failed);

  const { metrics } = deps;
  metrics.accepted.inc({ source: source.id }, result.accepted);
  metrics.duplicates.inc({ source: source.id }, result.duplicates);
  for (const item of rejected) metrics.rejected.inc({ reason: item.reason });
  recordConsentRefusals(metrics, prepared.rejected);
  for (const item of identityRefusals(prepared)) metrics.identityRefused.inc({ source: source.id, reason: item.reason });
  const identityRefused = prepared.identityRefused.length > 0 ? { identityRefused: prepared.identityRefused } : {};
  c.set('outcome', { accepted: result.accepted, duplicates: result.duplicates, rejected: rejected.length });
  const cookie = anonymousIdCookie(prepared.events, source, deps.config, { origin: c.req.header('origin'), fetchSite: c.req.header('sec-fetch-site') });
  if (cookie) c.header('Set-Cookie', cookie);
  return c.json({ accepted: result.accepted, duplicates: result.duplicates, rejected, ...identityRefused, ...(warnings && { warnings }) });
}

/** A sender that hung up (or was cut off by the request timeout) mid-body is its own error, not the server's. */
function abortedBody(error: unknown): never {
  if (error instanceof ApiError) throw error;
  throw new ApiError(400, 'request_aborted', 'the request body ended before it was complete');
}
