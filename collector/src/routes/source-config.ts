import type { Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';
import type { Source } from '../config.js';
import { ApiError } from '../errors.js';
import { findSource, writeKeyFromHeader } from '../source-auth.js';
import { sourceCors } from '../source-cors.js';

/** The control-plane paths RudderStack's SDKs fetch (the JS SDK adds a trailing slash). */
const SOURCE_CONFIG_PATHS = ['/sourceConfig', '/sourceConfig/'] as const;

/**
 * The source configuration RudderStack's SDKs fetch from their control plane: a source that is
 * enabled, sends no device-mode destinations and collects no SDK errors or metrics, so
 * that with `configUrl` (JS) or `controlPlaneUrl` (Android, iOS) pointed here they load and send
 * their events to their data plane, this collector. The fields are those the JS SDK checks
 * (`source.id`, `source.config`, `source.destinations`) and those the mobile SDKs decode without
 * a default (`name`, `writeKey`, `workspaceId`, `enabled`, `updatedAt`).
 *
 * @example
 * sourceConfigDocument(source, 'shop-write-key', '2026-01-01T00:00:00.000Z').source.enabled; // true
 */
export function sourceConfigDocument(source: Source, writeKey: string, updatedAt: string) {
  return {
    isHosted: false,
    source: {
      id: source.id,
      name: source.id,
      writeKey,
      workspaceId: 'tally',
      enabled: true,
      updatedAt,
      config: { statsCollection: { errors: { enabled: false }, metrics: { enabled: false } } },
      destinations: [],
    },
  };
}

/**
 * `GET /sourceConfig` (and `/sourceConfig/`): RudderStack's control-plane source configuration.
 * The write key comes as HTTP Basic user name, as the SDKs send it, or as the `writeKey` query
 * parameter the JS SDK adds. Unknown or missing key → 401. Pages of a source's allowed origins
 * may read it (the JS SDK fetches it from the page).
 *
 * @example
 * registerSourceConfigRoute(app, deps);
 */
export function registerSourceConfigRoute(app: Hono<CollectorEnv>, deps: RouteDeps): void {
  // The mobile SDKs keep a fetched configuration while its updatedAt stays the same.
  const updatedAt = deps.now().toISOString();
  const cors = sourceCors(deps.config.sources);
  for (const path of SOURCE_CONFIG_PATHS) {
    app.use(path, cors);
    app.get(path, (c) => {
      const writeKey = writeKeyFromHeader(c.req.header('authorization')) ?? (c.req.query('writeKey') || undefined);
      if (writeKey === undefined) {
        throw new ApiError(401, 'unauthorized', 'no write key: send it as HTTP Basic user name ("writeKey:") or as the writeKey query parameter', {
          'WWW-Authenticate': 'Basic realm="tally"',
        });
      }
      const source = findSource(writeKey, deps.config.sources);
      if (!source) throw new ApiError(401, 'unauthorized', 'unknown write key', { 'WWW-Authenticate': 'Basic realm="tally"' });
      c.set('source', source);
      c.header('Cache-Control', 'private, max-age=300');
      return c.json(sourceConfigDocument(source, writeKey, updatedAt));
    });
  }
}
