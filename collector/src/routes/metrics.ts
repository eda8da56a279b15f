import { createHash, timingSafeEqual } from 'node:crypto';
import type { Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';
import { ApiError } from '../errors.js';

/**
 * `GET /metrics` in the Prometheus text format. With `TALLY_METRICS_TOKEN` set it requires
 * `Authorization: Bearer <token>` (401 otherwise), as Prometheus' `authorization` scrape
 * setting sends it.
 *
 * @example
 * registerMetricsRoute(app, deps);
 */
export function registerMetricsRoute(app: Hono<CollectorEnv>, deps: RouteDeps): void {
  const token = deps.config.metricsToken;
  app.get('/metrics', async (c) => {
    if (token !== undefined && !bearerMatches(c.req.header('authorization'), token)) {
      throw new ApiError(401, 'unauthorized', 'metrics need a token: Authorization: Bearer <TALLY_METRICS_TOKEN>', {
        'WWW-Authenticate': 'Bearer realm="tally-metrics"',
      });
    }
    c.header('Content-Type', deps.metrics.contentType);
    c.header('Cache-Control', 'no-store');
    return c.body(await deps.metrics.render());
  });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  // Compared as digests, so that neither length nor content leaks through timing.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!.trim()), digest(token));
}
