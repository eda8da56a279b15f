/** How fast a key may go: `ratePerSecond` on average, up to `burst` at once. */
export interface BucketRate {
  /** Tokens added per second (the sustained rate). */
  readonly ratePerSecond: number;
  /** Bucket capacity: how many may be taken at once after a quiet spell. */
  readonly burst: number;
}

export interface TokenBucketOptions extends BucketRate {
  /**
   * Most keys kept at once. Past it the least recently used key is forgotten, which only
   * ever lets that key start again with a full bucket: memory stays bounded whatever the
   * number of distinct keys (forged write keys, spoofed addresses) a client sends.
   */
  readonly maxKeys?: number;
  /** Milliseconds since some fixed point; injected by tests. Defaults to `performance.now`. */
  readonly now?: () => number;
}

export type TakeResult =
  | { readonly allowed: true; readonly remaining: number }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

export interface TokenBucketLimiter {
  /** Takes `cost` tokens from `key`'s bucket, or says how many seconds until it could. */
  take(key: string, cost?: number): TakeResult;
  /**
   * Seconds until `cost` tokens could be taken from `key`'s bucket (0: now), taking none: for
   * a limit charged only after the fact, such as failed logins.
   */
  wait(key: string, cost?: number): number;
  /** Keys currently held in memory. */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token-bucket limiter over many keys, in memory. Each collector process limits on its
 * own: behind a load balancer of N collectors a key may reach N times the rate (a shared
 * limit would need Postgres or Redis, which the write path does not otherwise wait on).
 *
 * A bucket that has been idle long enough to refill is indistinguishable from no bucket,
 * so such keys are dropped as they are met; `maxKeys` bounds the rest.
 *
 * @example
 * const limiter = createTokenBucketLimiter({ ratePerSecond: 50, burst: 100 });
 * const result = limiter.take('write-key');
 * if (!result.allowed) response.headers.set('Retry-After', String(result.retryAfterSeconds));
 */
export function createTokenBucketLimiter(options: TokenBucketOptions): TokenBucketLimiter {
  const { ratePerSecond, burst } = options;
  if (!(ratePerSecond > 0) || !(burst >= 1)) {
    throw new RangeError(`A token bucket needs ratePerSecond > 0 and burst >= 1 (got ${ratePerSecond}, ${burst}).`);
  }
  const maxKeys = options.maxKeys ?? 100_000;
  if (!(maxKeys >= 1)) throw new RangeError(`A token bucket needs maxKeys >= 1 (got ${maxKeys}).`);
  const now = options.now ?? (() => performance.now());
  const msToFill = (burst / ratePerSecond) * 1000;
  // A Map iterates in insertion order; re-inserting a key on use keeps the least recently
  // used keys first, where eviction looks.
  const buckets = new Map<string, Bucket>();

  function refill(bucket: Bucket, at: number): void {
    const elapsed = Math.max(0, at - bucket.updatedAt);
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed / 1000) * ratePerSecond);
    bucket.updatedAt = at;
  }

  function evict(at: number): void {
    for (const [key, bucket] of buckets) {
      if (buckets.size <= maxKeys) {
        // The oldest entries are the longest idle: once one is not full yet, none after it is.
        if (at - bucket.updatedAt < msToFill) return;
      }
      buckets.delete(key);
    }
  }

  return {
    take(key, cost = 1) {
      const at = now();
      let bucket = buckets.get(key);
      if (bucket) {
        buckets.delete(key);
        refill(bucket, at);
      } else {
        bucket = { tokens: burst, updatedAt: at };
      }
      buckets.set(key, bucket);
      evict(at);
      if (bucket.tokens >= cost) {
        bucket.tokens -= cost;
        return { allowed: true, remaining: Math.floor(bucket.tokens) };
      }
      if (cost > burst) {
        // Can never be satisfied; say so with the longest honest wait rather than forever.
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(msToFill / 1000)) };
      }
      const waitSeconds = (cost - bucket.tokens) / ratePerSecond;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) };
    },
    wait(key, cost = 1) {
      const bucket = buckets.get(key);
      if (!bucket) return 0;
      const tokens = Math.min(burst, bucket.tokens + (Math.max(0, now() - bucket.updatedAt) / 1000) * ratePerSecond);
      if (tokens >= cost) return 0;
      return Math.max(1, Math.ceil((Math.min(cost, burst) - tokens) / ratePerSecond));
    },
    get size() {
      return buckets.size;
    },
  };
}
