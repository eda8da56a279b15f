import type { Source } from './config.js';
import { ApiError } from './errors.js';

/**
 * Finds a request's source from its write key: HTTP Basic (`writeKey:` as user name, the
 * way Segment's libraries send it) or `writeKey` in the body (what `sendBeacon` can do).
 *
 * @example
 * const source = authenticateSource(c.req.header('authorization'), body, config.sources);
 */
export function authenticateSource(authorization: string | undefined, body: unknown, sources: readonly Source[]): Source {
  const key = writeKeyFromHeader(authorization) ?? writeKeyFromBody(body);
  if (key === undefined) {
    throw new ApiError(401, 'unauthorized', 'no write key: send it as HTTP Basic user name ("writeKey:") or as "writeKey" in the body', {
      'WWW-Authenticate': 'Basic realm="tally"',
    });
  }
  const source = findSource(key, sources);
  if (!source) throw new ApiError(401, 'unauthorized', 'unknown write key', { 'WWW-Authenticate': 'Basic realm="tally"' });
  return source;
}

/** The source with this write key, if any. */
export function findSource(writeKey: string, sources: readonly Source[]): Source | undefined {
  return sources.find((source) => source.writeKey === writeKey);
}

/** The write key of a Basic `Authorization` header (its user name), if it carries one. */
export function writeKeyFromHeader(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
  return user === '' ? undefined : user;
}

function writeKeyFromBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const key = (body as Record<string, unknown>).writeKey;
  return typeof key === 'string' && key !== '' ? key : undefined;
}
