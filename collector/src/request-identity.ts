import { isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { Source } from './config.js';
import { ApiError } from './errors.js';

// Who sent a request, decided once for every route and limit: the socket's peer, the client
// behind trusted proxies, the write key it claims, the source that key names and whether
// that source accepts the page the request came from.

/**
 * The address of the peer that opened the connection (`getConnInfo` of `@hono/node-server`);
 * `undefined` in-process (`app.request`), where there is no socket.
 *
 * @example
 * peerAddress(c); // '127.0.0.1'
 */
export function peerAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/**
 * The client's address: with `trustProxy` hops, the address the outermost trusted proxy saw
 * (counted from the right of `X-Forwarded-For`, since a client can write anything to its
 * left); otherwise, or when the header has fewer entries than trusted proxies, the socket's peer.
 *
 * @example
 * forwardedClientAddress('203.0.113.9, 10.0.0.2', '10.0.0.3', 1); // '10.0.0.2'
 */
export function forwardedClientAddress(forwardedFor: string | undefined, peer: string | undefined, trustProxy: number): string | undefined {
  if (trustProxy > 0 && forwardedFor) {
    const hops = forwardedFor.split(',').map((part) => part.trim()).filter(Boolean);
    const candidate = hops[hops.length - trustProxy];
    if (candidate && isIP(stripZone(candidate))) return stripZone(candidate);
  }
  return peer && isIP(stripZone(peer)) ? stripZone(peer) : undefined;
}

/**
 * A request's client address by the one `X-Forwarded-For` rule (`forwardedClientAddress`);
 * `peer` defaults to the socket's.
 *
 * @example
 * const ip = clientAddress(c, config.trustProxy);
 */
export function clientAddress(c: Context, trustProxy: number, peer: string | undefined = peerAddress(c)): string | undefined {
  return forwardedClientAddress(c.req.header('x-forwarded-for'), peer, trustProxy);
}

/**
 * The write key of a Basic `Authorization` header (its user name, Segment's `writeKey:`).
 *
 * @example
 * writeKeyFromHeader('Basic c2hvcC1rZXk6'); // 'shop-key'
 */
export function writeKeyFromHeader(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  return user === '' ? undefined : user;
}

/** The `writeKey` field of a parsed JSON body (what `navigator.sendBeacon` can send), if any. */
export function writeKeyFromBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const key = (body as Record<string, unknown>).writeKey;
  return typeof key === 'string' && key !== '' ? key : undefined;
}

/** The source with this write key, if any. */
export function findSource(writeKey: string, sources: readonly Source[]): Source | undefined {
  return sources.find((source) => source.writeKey === writeKey);
}

/**
 * Finds a request's source from its write key: HTTP Basic (`writeKey:` as user name, the way
 * Segment's libraries send it) or `writeKey` in the body. Throws 401 without a key or with
 * one no source has.
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

/** True when the source lets pages of this origin send to it. */
export function originAllowed(source: Source, origin: string): boolean {
  return source.allowedOrigins.includes('*') || source.allowedOrigins.includes(origin);
}

/**
 * Refuses (403) a request sent by a page whose origin the source does not allow. CORS alone
 * does not stop a `text/plain` POST: the browser sends it and only hides the answer. A request
 * without `Origin` (a server, an app) is not a page's and passes.
 *
 * @example
 * authorizeOrigin(source, c.req.header('origin'));
 */
export function authorizeOrigin(source: Source, origin: string | undefined): void {
  if (origin === undefined || originAllowed(source, origin)) return;
  throw new ApiError(403, 'origin_not_allowed', `source "${source.id}" does not accept events from pages on ${JSON.stringify(origin).slice(0, 200)}`);
}

/** What a route needs to know who sent a request that may carry its key in the body. */
export interface IdentifyOptions {
  sources: readonly Source[];
  /** Charges one request to a valid write key's budget; throws (429) when it is spent. */
  limitWriteKey?: (c: Context, writeKey: string) => void;
}

/**
 * Authenticates an ingestion request: a write key in the header is checked before the body is
 * read (a wrong one costs no read), a key in the body once `readBody` has parsed it. Then the
 * source's origin rule and its write key's rate limit apply, to valid keys only.
 *
 * @example
 * const { source, body } = await identifyRequest(c, { sources, limitWriteKey }, () => readJson(c));
 */
export async function identifyRequest<T>(c: Context, options: IdentifyOptions, readBody: () => Promise<T>): Promise<{ source: Source; body: T }> {
  const authorization = c.req.header('authorization');
  const headerKey = writeKeyFromHeader(authorization);
  const admit = (source: Source) => {
    // Known from here on, so that CORS answers for this source even when it is refused below.
    c.set('source', source);
    authorizeOrigin(source, c.req.header('origin'));
    options.limitWriteKey?.(c, source.writeKey);
    return source;
  };
  const early = headerKey === undefined ? undefined : admit(authenticateSource(authorization, undefined, options.sources));
  const body = await readBody();
  const source = early ?? admit(authenticateSource(undefined, body, options.sources));
  return { source, body };
}

function stripZone(address: string): string {
  const zone = address.indexOf('%');
  return zone === -1 ? address : address.slice(0, zone);
}
