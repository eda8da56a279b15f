import { Hono, type Context } from 'hono';
import type { Database } from '../db/database.js';
import { ApiError, onError } from '../errors.js';
import { exportPerson } from '../privacy/export.js';
import { forgetPerson } from '../privacy/forget.js';
import { findPerson, parsePersonQuery, PersonQueryError, type PersonQuery } from '../privacy/person.js';
import { adminOnly } from './admin-auth.js';

export interface DataRightsRoutesDeps {
  database: Database;
  /** TALLY_ADMIN_KEY; without one the admin endpoints do not exist (404). */
  adminKey: string | undefined;
  /** The server's clock, stamped on exports. */
  now?: () => Date;
}

/**
 * The data-rights endpoints, as a sub-app to mount under `/v1/admin`, each with
 * `Authorization: Bearer <admin key>` and a JSON body naming the person by exactly one of
 * `userId`, `anonymousId` or `email` (a body, not the URL, so that identifiers stay out of
 * access logs):
 * - `POST /people/find`: what Tally holds about the person and on what consent (200), or 404;
 * - `POST /people/export`: everything held about them as one JSON document (200), or 404;
 * - `POST /people/forget`: deletes them everywhere and logs the counts only (200), or 404;
 * - `DELETE /customers/:userId`: the same as forget by userId.
 * 400 for a body that names nobody or a placeholder, 401 without the right key, 404 when no
 * admin key is configured.
 *
 * @example
 * app.route('/v1/admin', dataRightsRoutes({ database, adminKey: config.adminKey }));
 * // curl -H "Authorization: Bearer $TALLY_ADMIN_KEY" -d '{"email":"ann@example.com"}' https://collector/v1/admin/people/export
 */
export function dataRightsRoutes(deps: DataRightsRoutesDeps): Hono {
  const app = new Hono();
  app.onError(onError);
  app.use('*', adminOnly(deps.adminKey));
  const db = deps.database.db;

  app.post('/people/find', async (c) => c.json(found(await findPerson(db, await personIn(c)))));
  app.post('/people/export', async (c) => {
    const document = found(await exportPerson(db, await personIn(c), deps.now?.()));
    c.header('Content-Disposition', 'attachment; filename="tally-person-export.json"');
    return c.json(document);
  });
  app.post('/people/forget', async (c) => c.json({ deleted: found(await forgetPerson(db, await personIn(c), { channel: 'admin_api' })) }));
  app.delete('/customers/:userId', async (c) => {
    const query = parse({ userId: c.req.param('userId') });
    return c.json({ deleted: found(await forgetPerson(db, query, { channel: 'admin_api' })) });
  });
  return app;
}

/**
 * The person a request's JSON body names by exactly one of `userId`, `anonymousId` or
 * `email`, or a 400 saying what is wrong.
 *
 * @example
 * app.post('/people/find', async (c) => c.json(await findPerson(db, await personIn(c))));
 */
export async function personIn(c: Context): Promise<PersonQuery> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new ApiError(400, 'invalid_json', 'expected a JSON body such as {"userId": "…"}, {"anonymousId": "…"} or {"email": "…"}');
  }
  return parse(body);
}

function parse(input: unknown): PersonQuery {
  try {
    return parsePersonQuery(input);
  } catch (error) {
    if (error instanceof PersonQueryError) throw new ApiError(400, 'invalid_person', error.message);
    throw error;
  }
}

function found<T>(value: T | null): T {
  if (value === null) throw new ApiError(404, 'unknown_person', 'Tally holds nothing about this person; nothing was done');
  return value;
}
