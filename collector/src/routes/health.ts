import type { Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';

/**
 * `GET /healthz`: the process is up. `GET /readyz`: the database answers, so a load
 * balancer sends traffic only to collectors that can store it.
 *
 * @example
 * registerHealthRoutes(app, deps);
 */
export function registerHealthRoutes(app: Hono<CollectorEnv>, deps: RouteDeps): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (await deps.database.ping()) return c.json({ status: 'ready' });
    c.header('Retry-After', '5');
    return c.json({ status: 'unavailable', error: { code: 'database_unavailable', message: 'the database does not answer' } }, 503);
  });
}
