import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Hono } from 'hono';
import type { CollectorEnv, RouteDeps } from '../app-context.js';
import { ApiError } from '../errors.js';

/**
 * The browser tracker at `path` (`TALLY_TRACKER_SCRIPT`; by default this repository's
 * `sdk-web/dist/tally.js`), read once; null when there is no such file.
 *
 * @example
 * const script = loadTrackerScript(config.trackerScriptPath);
 */
export function loadTrackerScript(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The paths the tracker is served at: `/<TALLY_TRACKER_SCRIPT_NAME>` alone when it is set, else `/t.js` and `/tally.js`. */
export const trackerScriptPaths = (name: string | undefined): string[] => (name ? [`/${name}`] : ['/t.js', '/tally.js']);

/**
 * `GET /t.js` and `GET /tally.js` (or the one name `TALLY_TRACKER_SCRIPT_NAME` gives): the browser
 * tracker, with an ETag and a cache lifetime of an hour (then revalidated in the background for a day).
 * A name of the site's own choosing, behind a path of the site's own origin, is what a list of
 * known tracker URLs does not hold.
 *
 * @example
 * registerTrackerScriptRoute(app, deps);
 */
export function registerTrackerScriptRoute(app: Hono<CollectorEnv>, deps: RouteDeps): void {
  const script = deps.trackerScript;
  const etag = script === null ? '' : `"${createHash('sha256').update(script).digest('base64url').slice(0, 27)}"`;
  for (const path of trackerScriptPaths(deps.config.trackerScriptName)) {
    app.get(path, (c) => {
      if (script === null) {
        throw new ApiError(404, 'tracker_not_built', 'the browser tracker has not been built or not found: run `pnpm build` in the repository, or point TALLY_TRACKER_SCRIPT at tally.js');
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
