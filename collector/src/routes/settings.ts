import type { Context, Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';
import { ApiError } from '../errors.js';
import { findSource } from '../source-auth.js';

/**
 * `GET /v1/projects/:writeKey/settings`: the settings document Segment's SDKs fetch at start,
 * pointing their `Segment.io` destination at this collector, so analytics.js and the mobile
 * libraries run against Tally with only their host changed. Unknown write key → 404.
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
    const { protocol, host } = publicOrigin(c, deps.config.trustProxy);
    c.header('Cache-Control', 'public, max-age=300');
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

function publicOrigin(c: Context<CollectorEnv>, trustProxy: number): { protocol: string; host: string } {
  const url = new URL(c.req.url);
  const forwardedProto = trustProxy > 0 ? c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() : undefined;
  const forwardedHost = trustProxy > 0 ? c.req.header('x-forwarded-host')?.split(',')[0]?.trim() : undefined;
  return {
    protocol: forwardedProto === 'http' || forwardedProto === 'https' ? forwardedProto : url.protocol.replace(':', ''),
    host: forwardedHost || c.req.header('host') || url.host,
  };
}
