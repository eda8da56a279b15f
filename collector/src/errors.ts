import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { WriterClosedError } from './ingest/group-commit-writer.js';
import { DatabaseUnavailableError, RequestWriteError } from './ingest/write-failure.js';

/**
 * The one error type of the HTTP surface: a status, a stable machine-readable code and a
 * message meant for the person reading it. `onError` turns it into `{ error: { code, message } }`.
 *
 * @example
 * throw new ApiError(401, 'unauthorized', 'unknown write key');
 */
export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The database did not take the events: nothing was acknowledged, the sender should retry. */
export function databaseUnavailable(cause?: unknown): ApiError {
  const error = new ApiError(503, 'database_unavailable', 'the database is unavailable; nothing was stored, retry later', {
    'Retry-After': '5',
  });
  if (cause !== undefined) error.cause = cause;
  return error;
}

/**
 * The answer to a request the writer did not store (docs/design.md §2): 503 with Retry-After
 * only when sending it again later can succeed (the database unreachable, the collector
 * shutting down); 500 `write_failed` when the request fails on its own, which sending it
 * unchanged would repeat.
 *
 * @example
 * try { await writer.write(request); } catch (error) { throw writeRefused(error); }
 */
export function writeRefused(error: unknown): ApiError {
  if (error instanceof WriterClosedError) {
    return new ApiError(503, 'shutting_down', 'the collector is shutting down; nothing was stored, retry later', { 'Retry-After': '1' });
  }
  if (error instanceof DatabaseUnavailableError) return databaseUnavailable(error.cause);
  const refused = new ApiError(500, 'write_failed', 'the database refused to store this request; nothing of it was stored, and sending it unchanged will fail again');
  refused.cause = error instanceof RequestWriteError ? error.cause : error;
  return refused;
}

/**
 * Answers an `ApiError` with its status and code; anything else is answered as a generic
 * 500, so internals never reach the client, and its class and code go to the request's log line.
 *
 * @example
 * app.onError(onError);
 */
export function onError(error: Error, c: Context): Response {
  if (error instanceof ApiError) {
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
    return c.json({ error: { code: error.code, message: error.message } }, error.status);
  }
  // Logged by the request's log line as its class and code only: a message can quote the data
  // it failed on (docs/design.md §6).
  c.set('failure', { name: error.name, code: (error as { code?: unknown }).code?.toString() });
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
}
