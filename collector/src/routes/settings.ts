import type { Context, Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';
import { ApiError } from '../errors.js';
import { findSource } from '../request-identity.js';

/**
 * `GET /v1/projects/:writeKey/settings`: the settings document Segment's SDKs fetch at start,
 * pointing their `Segment.io` destination at this collector, so analytics.js and the mobile
 * libraries run against Tally with only their host changed. Unknown write key → 404.
 *
 * The host in it is the configured public URL (`TALLY_PUBLIC_URL`), and then the document may
 * be cached by anyone. Without one it is the request's own `Host`, answered `no-store`: a
 * header the sender chose must never reach a shared cache. `X-Forwarded-Host` is never read.
 *
 * @example
 * registerSettingsRoute(app, deps);
 */
export function registerSettingsRoute(app: Hono<CollectorEnv>, deps: RouteDeps): void {
  app.get('/v1/projects/:writeKey/settings', (c) => {
    const writeKey = c.req.param('writeKey');
    const source = findSource(writeKey, deps.config.sources);
    if (!source) throw new ApiError(404, 'not_found', 'no source has this write key');
    c.set('source', source);
    const { protocol, host } = publicOrigin(c, deps.config.publicUrl);
    c.header('Cache-Control', deps.config.publicUrl ? 'public, max-age=300' : 'no-store');
    return c.json({
      integrations: {
        'Segment.io': {
          apiKey: writeKey,
          apiHost: `${host}/v1`,
          protocol,
          unbundledIntegrations: [],
          addBundledMetadata: true,
          maybeBundledConfigIds: {},
          versionSettings: { version: '4.4.7', componentTypes: ['browser'] },
        },
      },
      plan: {
        track: { __default: { enabled: true, integrations: {} } },
        identify: { __default: { enabled: true } },
        group: { __default: { enabled: true } },
      },
      edgeFunction: {},
      analyticsNextEnabled: true,
      middlewareSettings: {},
      enabledMiddleware: {},
      metrics: { sampleRate: 0 },
      legacyVideoPluginsEnabled: false,
      remotePlugins: [],
      consentSettings: { allCategories: [], hasUnmappedDestinations: false },
    });
  });
}

function publicOrigin(c: Context<CollectorEnv>, publicUrl: string | undefined): { protocol: string; host: string } {
  const url = new URL(publicUrl ?? c.req.url);
  return { protocol: url.protocol.replace(':', ''), host: url.host };
}
