import { Hono } from 'hono';
import type { Database } from '../db/database.js';
import { ApiError, onError } from '../errors.js';
import { MergeUndoError, mergesOfPerson, undoMerge } from '../identity/merge-undo.js';
import { adminOnly } from './admin-auth.js';
import { personIn } from './data-rights.js';

export interface MergeRoutesDeps {
  database: Database;
  /** TALLY_ADMIN_KEY; without one these endpoints do not exist (404). */
  adminKey: string | undefined;
}

/**
 * The identity merge endpoints, as a sub-app to mount under `/v1/admin/merges`, each with
 * `Authorization: Bearer <admin key>` (401 without it, 404 when no admin key is configured):
 * - `POST /find` with a JSON body naming a person by exactly one of `userId`, `anonymousId`
 *   or `email`: the merges and re-links of their customers, oldest first, each with whether
 *   it can be undone and when it was (200), or 404;
 * - `POST /:id/undo`: undoes merge `id` (identity/merge-undo.ts) and says what moved back
 *   (200); 404 for no such merge; 409 when it cannot be undone, with `error.code`
 *   `already_undone`, `not_reversible` or `later_merge` (then `error.laterMergeId` names the
 *   merge to undo first).
 *
 * @example
 * app.route('/v1/admin/merges', mergeRoutes({ database, adminKey: config.adminKey }));
 * // curl -X POST -H "Authorization: Bearer $TALLY_ADMIN_KEY" https://collector/v1/admin/merges/42/undo
 */
export function mergeRoutes(deps: MergeRoutesDeps): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    if (!(error instanceof MergeUndoError)) return onError(error, c);
    const status = error.code === 'unknown_merge' ? 404 : 409;
    return c.json({ error: { code: error.code, message: error.message, ...(error.laterMergeId === undefined ? {} : { laterMergeId: error.laterMergeId }) } }, status);
  });
  app.use('*', adminOnly(deps.adminKey));
  const db = deps.database.db;

  app.post('/find', async (c) => {
    const merges = await mergesOfPerson(db, await personIn(c));
    if (merges === null) throw new ApiError(404, 'unknown_person', 'Tally holds no customer for this person');
    return c.json({ merges });
  });
  app.post('/:id/undo', async (c) => {
    const id = c.req.param('id');
    if (!/^[1-9]\d{0,17}$/.test(id)) throw new ApiError(400, 'invalid_merge_id', `expected a merge id (a positive whole number), got "${id}"`);
    return c.json({ undone: await undoMerge(db, Number(id), { channel: 'admin_api' }) });
  });
  return app;
}
