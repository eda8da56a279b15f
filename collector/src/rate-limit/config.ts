import * as z from 'zod';
import type { RateLimitOptions } from './index.js';

const rate = (variable: string, fallback: number) =>
  z.coerce
    .number({ error: `${variable} must be a number` })
    .min(0, `${variable} must be 0 (off) or more`)
    .default(fallback);

/**
 * The rate-limit settings the collector reads from its environment. A rate of 0 turns that
 * limit off; a burst left unset is twice the rate.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `TALLY_RATE_LIMIT_WRITE_KEY_RPS` | 2000 | requests per second per write key |
 * | `TALLY_RATE_LIMIT_WRITE_KEY_BURST` | 2 × rate | requests a write key may send at once |
 * | `TALLY_RATE_LIMIT_IP_RPS` | 100 | requests per second per client address (IPv6 per /64) |
 * | `TALLY_RATE_LIMIT_IP_BURST` | 2 × rate | requests an address may send at once |
 *
 * Which proxies to trust for the client address is the collector's own `TALLY_TRUST_PROXY`,
 * passed to `rateLimit` as `trustedProxyHops`.
 */
export const RateLimitConfig = z.object({
  TALLY_RATE_LIMIT_WRITE_KEY_RPS: rate('TALLY_RATE_LIMIT_WRITE_KEY_RPS', 2000),
  TALLY_RATE_LIMIT_WRITE_KEY_BURST: rate('TALLY_RATE_LIMIT_WRITE_KEY_BURST', 0),
  TALLY_RATE_LIMIT_IP_RPS: rate('TALLY_RATE_LIMIT_IP_RPS', 100),
  TALLY_RATE_LIMIT_IP_BURST: rate('TALLY_RATE_LIMIT_IP_BURST', 0),
});
export type RateLimitEnv = z.infer<typeof RateLimitConfig>;

/**
 * Reads the rate-limit settings from an environment; throws an error naming the variable
 * when one is not valid.
 *
 * @example
 * app.use('/v1/*', rateLimit({ ...rateLimitConfigFromEnv(process.env), trustedProxyHops: config.trustProxy }));
 */
export function rateLimitConfigFromEnv(
  env: Record<string, string | undefined>,
): Pick<RateLimitOptions, 'perWriteKey' | 'perIp'> {
  const picked = Object.fromEntries(
    Object.keys(RateLimitConfig.shape).map((name) => [name, env[name] === '' ? undefined : env[name]]),
  );
  const result = RateLimitConfig.safeParse(picked);
  if (!result.success) {
    throw new Error(`Invalid rate-limit configuration: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  const config = result.data;
  const bucket = (ratePerSecond: number, burst: number) =>
    ratePerSecond > 0 ? { ratePerSecond, burst: Math.max(1, burst || ratePerSecond * 2) } : (false as const);
  return {
    perWriteKey: bucket(config.TALLY_RATE_LIMIT_WRITE_KEY_RPS, config.TALLY_RATE_LIMIT_WRITE_KEY_BURST),
    perIp: bucket(config.TALLY_RATE_LIMIT_IP_RPS, config.TALLY_RATE_LIMIT_IP_BURST),
  };
}
