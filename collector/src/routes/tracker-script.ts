import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';
import { ApiError } from '../errors.js';

/**
 * The built browser tracker (`@tally/sdk-web`'s `dist/tally.js`), read once; null when the
 * SDK has not been built.
 *
 * @example
 * const script = loadTrackerScript();
 */
export function loadTrackerScript(): string | null {
  try {
    const path = createRequire(import.meta.url).resolve('@tally/sdk-web/tally.js');
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * `GET /t.js` and `GET /tally.js`: the browser tracker, with an ETag and a cache lifetime of
 * an hour (then revalidated in the background for a day).
 *
 * @example
 * registerTrackerScriptRoute(app, deps);
 */
export function registerTrackerScriptRoute(app: Hono<CollectorEnv>, deps: RouteDeps): void {
  const script = deps.trackerScript;
  const etag = script === null ? '' : `"${createHash('sha256').update(script).digest('base64url').slice(0, 27)}"`;
  for (const path of ['/t.js', '/tally.js']) {
    app.get(path, (c) => {
      if (script === null) {
        throw new ApiError(404, 'tracker_not_built', 'the browser tracker has not been built; run `pnpm build` in the repository');
      }
      c.header('ETag', etag);
      c.header('Cache-Control', 'public, max-age=3600, stale-while-revalidate=86400');
      c.header('Access-Control-Allow-Origin', '*');
      const match = c.req.header('if-none-match');
      if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) return c.body(null, 304);
      c.header('Content-Type', 'text/javascript; charset=utf-8');
      return c.body(script);
    });
  }
}
