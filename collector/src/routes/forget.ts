import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { Database } from '../db/database.js';
import { forgetCustomer } from '../identity/forget.js';

export interface ForgetRoutesDeps {
  database: Database;
  /** TALLY_ADMIN_KEY; without one the admin endpoints do not exist (404). */
  adminKey: string | undefined;
}

/**
 * Admin endpoint for the right to be forgotten, as a sub-app to mount under `/v1/admin`:
 * `DELETE /customers/:userId[?source=<sourceId>]` with `Authorization: Bearer <admin key>`
 * deletes the customer's events, identities and traits and logs that a deletion happened.
 * Answers 200 with the counts, 401 without the right key, 404 for an unknown userId or when
 * no admin key is configured.
 *
 * @example
 * app.route('/v1/admin', forgetRoutes({ database, adminKey: config.adminKey }));
 * // curl -X DELETE -H 'Authorization: Bearer $TALLY_ADMIN_KEY' https://collector/v1/admin/customers/user-42
 */
export function forgetRoutes(deps: ForgetRoutesDeps): Hono {
  const app = new Hono();
  app.delete('/customers/:userId', async (c) => {
    if (deps.adminKey === undefined) return error(c, 404, 'not_found', `no route for DELETE ${c.req.path}`);
    if (!authorized(c.req.header('Authorization'), deps.adminKey)) {
      c.header('WWW-Authenticate', 'Bearer realm="tally-admin"');
      return error(c, 401, 'unauthorized', 'an admin key is required: Authorization: Bearer <TALLY_ADMIN_KEY>');
    }
    const userId = c.req.param('userId');
    const sourceId = c.req.query('source');
    const result = await forgetCustomer(deps.database.db, { userId, sourceId, channel: 'admin_api' });
    if (result === null) return error(c, 404, 'unknown_customer', 'no customer has this userId; nothing deleted');
    return c.json({ deleted: result });
  });
  return app;
}

function authorized(header: string | undefined, adminKey: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  // Compared as digests so that neither the length nor the content leaks through timing.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!.trim()), digest(adminKey));
}

function error(c: Context, status: 401 | 404, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}
