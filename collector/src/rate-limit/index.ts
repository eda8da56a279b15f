import type { Context, MiddlewareHandler } from 'hono';
import { clientAddress, ipRateLimitKey } from './client-ip.js';
import { createTokenBucketLimiter, type BucketRate, type TokenBucketLimiter } from './token-bucket.js';

export { createTokenBucketLimiter, type BucketRate, type TakeResult, type TokenBucketLimiter } from './token-bucket.js';
export { clientAddress, ipRateLimitKey, socketAddress } from './client-ip.js';
export { RateLimitConfig, rateLimitConfigFromEnv, type RateLimitEnv } from './config.js';

export interface RateLimitOptions {
  /** Requests per write key; `false` turns this limit off. */
  readonly perWriteKey?: BucketRate | false;
  /** Requests per client address (IPv6 per /64); `false` turns this limit off. */
  readonly perIp?: BucketRate | false;
  /** Reverse proxies in front of the collector that append to `X-Forwarded-For` (default 0). */
  readonly trustedProxyHops?: number;
  /** Most keys each limiter holds in memory (default 100,000). */
  readonly maxKeys?: number;
  /**
   * The write key a request claims, read before the body is. Defaults to the user of an
   * HTTP Basic `Authorization` header. Keys carried in the body (`navigator.sendBeacon`)
   * are limited by the route through `limitWriteKey` once it has read them.
   */
  readonly writeKey?: (c: Context) => string | undefined;
  /** The client address; defaults to `clientAddress(c, trustedProxyHops)`. */
  readonly clientIp?: (c: Context) => string | undefined;
  /** Milliseconds clock, injected by tests. */
  readonly now?: () => number;
}

/** A rate-limit middleware plus the check routes call for a write key found in the body. */
export interface RateLimitMiddleware extends MiddlewareHandler {
  /** Takes one request from `writeKey`'s budget; a `Response` (429) when it is spent. */
  limitWriteKey(c: Context, writeKey: string): Response | undefined;
}

/**
 * Per-write-key and per-client-address request limits as a Hono middleware. A request over
 * either limit is answered `429` with `Retry-After` (whole seconds) and the body
 * `{ error: { code: 'rate_limited', message } }` before its body is read, so an abusive
 * client costs neither parsing nor a database write. Every SDK treats 429 as "retry later",
 * so a limited event is delayed, not lost.
 *
 * Limits are per collector process (see `createTokenBucketLimiter`).
 *
 * @example
 * const limit = rateLimit({ perWriteKey: { ratePerSecond: 500, burst: 1000 }, perIp: { ratePerSecond: 50, burst: 100 } });
 * app.use('/v1/*', limit);
 */
export function rateLimit(options: RateLimitOptions = {}): RateLimitMiddleware {
  const { now, maxKeys } = options;
  const byKey = options.perWriteKey ? createTokenBucketLimiter({ ...options.perWriteKey, maxKeys, now }) : undefined;
  const byIp = options.perIp ? createTokenBucketLimiter({ ...options.perIp, maxKeys, now }) : undefined;
  const readWriteKey = options.writeKey ?? basicAuthUser;
  const readIp = options.clientIp ?? ((c: Context) => clientAddress(c, options.trustedProxyHops ?? 0));
  // Requests already charged to their write key, so that a route's `limitWriteKey` does
  // not charge the same request twice.
  const charged = new WeakSet<Request>();

  function check(c: Context, limiter: TokenBucketLimiter | undefined, key: string | undefined, what: string) {
    if (!limiter || key === undefined) return undefined;
    const result = limiter.take(key);
    if (result.allowed) return undefined;
    return tooMany(c, result.retryAfterSeconds, what);
  }

  const middleware: MiddlewareHandler = async (c, next) => {
    const ipKey = byIp ? ipRateLimitKey(readIp(c)) : undefined;
    const ipLimited = check(c, byIp, ipKey, 'this address');
    if (ipLimited) return ipLimited;
    const writeKey = byKey ? readWriteKey(c) : undefined;
    if (writeKey !== undefined) {
      charged.add(c.req.raw);
      const keyLimited = check(c, byKey, writeKey, 'this write key');
      if (keyLimited) return keyLimited;
    }
    await next();
  };

  return Object.assign(middleware, {
    limitWriteKey(c: Context, writeKey: string) {
      if (charged.has(c.req.raw)) return undefined;
      charged.add(c.req.raw);
      return check(c, byKey, writeKey, 'this write key');
    },
  });
}

function tooMany(c: Context, retryAfterSeconds: number, what: string): Response {
  c.header('Retry-After', String(retryAfterSeconds));
  return c.json(
    {
      error: {
        code: 'rate_limited',
        message: `Too many requests from ${what}; retry after ${retryAfterSeconds} s.`,
      },
    },
    429,
  );
}

/** The user part of an HTTP Basic `Authorization` header (Segment's `writeKey:`). */
export function basicAuthUser(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (!header) return undefined;
  const match = /^basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  return user || undefined;
}
