import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.js';
import { clientAddress } from '../request-identity.js';
import { ipRateLimitKey } from './ip-key.js';
import { createTokenBucketLimiter, type BucketRate, type TokenBucketLimiter } from './token-bucket.js';

export { createTokenBucketLimiter, type BucketRate, type TakeResult, type TokenBucketLimiter } from './token-bucket.js';
export { ipRateLimitKey } from './ip-key.js';

export interface RateLimitOptions {
  /** Requests per write key; `false` turns this limit off. */
  readonly perWriteKey?: BucketRate | false;
  /** Requests per client address (IPv6 per /64); `false` turns this limit off. */
  readonly perIp?: BucketRate | false;
  /** Reverse proxies in front of the collector that append to `X-Forwarded-For` (default 0). */
  readonly trustedProxyHops?: number;
  /** Most keys each limiter holds in memory (default 100,000). */
  readonly maxKeys?: number;
  /** The client address; defaults to `clientAddress(c, trustedProxyHops)` of `request-identity`. */
  readonly clientIp?: (c: Context) => string | undefined;
  /** Milliseconds clock, injected by tests. */
  readonly now?: () => number;
}

/** The per-address middleware plus the per-write-key check a route makes once it knows the key is valid. */
export interface RateLimitMiddleware extends MiddlewareHandler {
  /** Takes one request from `writeKey`'s budget; throws `ApiError` 429 when it is spent. */
  limitWriteKey(c: Context, writeKey: string): void;
}

/**
 * Per-client-address and per-write-key request limits. A request over either limit is
 * answered `429` with `Retry-After` (whole seconds) and `{ error: { code: 'rate_limited',
 * message } }`. The address limit is a middleware and applies before the body is read. The
 * write-key limit applies only to keys a source has (an invented key must not spend a real
 * one's budget, and random keys must not fill the table), so routes call `limitWriteKey`
 * once they have authenticated the request, header key or body key alike (see
 * `identifyRequest`). Every SDK treats 429 as "retry later": a limited event is delayed, not lost.
 *
 * Limits are per collector process (see `createTokenBucketLimiter`).
 *
 * @example
 * const limit = rateLimit({ perWriteKey: { ratePerSecond: 500, burst: 1000 }, perIp: { ratePerSecond: 50, burst: 100 } });
 * app.use('/v1/*', limit);
 * app.post('/v1/batch', (c) => { limit.limitWriteKey(c, source.writeKey); ... });
 */
export function rateLimit(options: RateLimitOptions = {}): RateLimitMiddleware {
  const { now, maxKeys } = options;
  const byKey = options.perWriteKey ? createTokenBucketLimiter({ ...options.perWriteKey, maxKeys, now }) : undefined;
  const byIp = options.perIp ? createTokenBucketLimiter({ ...options.perIp, maxKeys, now }) : undefined;
  const readIp = options.clientIp ?? ((c: Context) => clientAddress(c, options.trustedProxyHops ?? 0));
  // Requests already charged to their write key, so that no request is charged twice.
  const charged = new WeakSet<Request>();

  const middleware: MiddlewareHandler = async (c, next) => {
    if (byIp) take(byIp, ipRateLimitKey(readIp(c)), 'this address');
    await next();
  };

  return Object.assign(middleware, {
    limitWriteKey(c: Context, writeKey: string) {
      if (!byKey || charged.has(c.req.raw)) return;
      charged.add(c.req.raw);
      take(byKey, writeKey, 'this write key');
    },
  });
}

function take(limiter: TokenBucketLimiter, key: string | undefined, what: string): void {
  if (key === undefined) return;
  const result = limiter.take(key);
  if (result.allowed) return;
  const seconds = result.retryAfterSeconds;
  throw new ApiError(429, 'rate_limited', `Too many requests from ${what}; retry after ${seconds} s.`, { 'Retry-After': String(seconds) });
}
