import type { MiddlewareHandler } from 'hono';
import type { CollectorEnv } from './app-context.js';
import type { Source } from './config.js';
import { originAllowed } from './request-identity.js';

const ALLOWED_HEADERS = 'Authorization, Content-Type, Content-Encoding';

export { originAllowed } from './request-identity.js';

/**
 * CORS per source. A pre-flight carries no write key, so it is granted when some source
 * allows the origin; an actual response is granted only when the request's own source
 * allows it (or, before a source is known, when some source does), and exposes `Retry-After`
 * so that the tracker can honour it on a 429 or 503. A disallowed origin
 * gets an answer without any `Access-Control-Allow-*` header, which the browser enforces;
 * that it is also refused (403) is `authorizeOrigin`'s rule, applied by the routes.
 *
 * @example
 * app.use('/v1/*', sourceCors(config.sources));
 */
export function sourceCors(sources: readonly Source[]): MiddlewareHandler<CollectorEnv> {
  const anyAllows = (origin: string) => sources.some((source) => originAllowed(source, origin));
  return async (c, next) => {
    // Administrative routes are for operators' tools, never for pages.
    if (c.req.path.startsWith('/v1/admin/')) return next();
    const origin = c.req.header('origin');
    if (c.req.method === 'OPTIONS' && origin !== undefined) {
      c.header('Vary', 'Origin');
      if (anyAllows(origin)) {
        c.header('Access-Control-Allow-Origin', origin);
        c.header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
        c.header('Access-Control-Allow-Headers', c.req.header('access-control-request-headers') ?? ALLOWED_HEADERS);
        c.header('Access-Control-Max-Age', '86400');
      }
      return c.body(null, 204);
    }
    await next();
    if (origin === undefined) return;
    c.header('Vary', 'Origin', { append: true });
    const source = c.get('source');
    if (source ? originAllowed(source, origin) : anyAllows(origin)) {
      c.header('Access-Control-Allow-Origin', origin);
      // Without it a page on another origin cannot read how long a 429 or 503 asks it to wait.
      c.header('Access-Control-Expose-Headers', 'Retry-After');
    } else {
      c.res.headers.delete('Access-Control-Allow-Origin');
    }
  };
}
