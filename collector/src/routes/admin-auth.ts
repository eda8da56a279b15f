import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.js';

/**
 * The guard of the admin endpoints: `Authorization: Bearer <TALLY_ADMIN_KEY>` or 401; without
 * an admin key configured the endpoints do not exist (404).
 *
 * @example
 * app.use('*', adminOnly(config.adminKey));
 */
export function adminOnly(adminKey: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (adminKey === undefined) throw new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
    if (!authorized(c.req.header('Authorization'), adminKey)) {
      throw new ApiError(401, 'unauthorized', 'an admin key is required: Authorization: Bearer <TALLY_ADMIN_KEY>', {
        'WWW-Authenticate': 'Bearer realm="tally-admin"',
      });
    }
    await next();
  };
}

function authorized(header: string | undefined, adminKey: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  // Compared as digests so that neither the length nor the content leaks through timing.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!.trim()), digest(adminKey));
}
