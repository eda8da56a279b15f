import { createTokenBucketLimiter } from '../rate-limit/token-bucket.js';
import { ipRateLimitKey } from '../rate-limit/ip-key.js';

/** Failed logins a client address may make at once, and then one more every 60/FAILURES_PER_MINUTE seconds. */
export const FAILURES_PER_MINUTE = 5;

/** Failed dashboard logins per client address: a password or admin key guessed only a few times a minute. */
export interface LoginThrottle {
  /** Seconds this address must wait before its next login is even checked; 0 when it may try now. */
  wait(address: string | undefined): number;
  /** Counts a failed login (a wrong password, a spent or made-up login link) against the address. */
  failed(address: string | undefined): void;
}

/**
 * Counts only failures, so a person who types the password right is never slowed, and the
 * check comes before the password is compared, so a throttled address learns nothing. An
 * IPv6 address counts by its /64, as the ingest limits do (`ipRateLimitKey`); requests with no
 * known address (in-process ones) share one count. Per collector process, in memory.
 *
 * @example
 * const throttle = createLoginThrottle();
 * if (throttle.wait(ip) > 0) refuse(); else if (!logIn(password)) throttle.failed(ip);
 */
export function createLoginThrottle(options: { failuresPerMinute?: number; now?: () => number } = {}): LoginThrottle {
  const failures = options.failuresPerMinute ?? FAILURES_PER_MINUTE;
  const bucket = createTokenBucketLimiter({ ratePerSecond: failures / 60, burst: failures, maxKeys: 10_000, now: options.now });
  const key = (address: string | undefined) => ipRateLimitKey(address) ?? 'no address';
  return {
    wait: (address) => bucket.wait(key(address)),
    failed: (address) => void bucket.take(key(address)),
  };
}
