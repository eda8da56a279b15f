import type { Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';

/**
 * `GET /metrics` in the Prometheus text format.
 *
 * @example
 * registerMetricsRoute(app, deps);
 */
export function registerMetricsRoute(app: Hono<CollectorEnv>, deps: RouteDeps): void {
  app.get('/metrics', (c) => {
    c.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    return c.body(deps.metrics.render());
  });
}
