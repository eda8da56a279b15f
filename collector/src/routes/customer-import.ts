import { Hono, type Context } from 'hono';
import type { ImportSettings } from '../config.js';
import type { Database } from '../db/database.js';
import { ApiError, onError } from '../errors.js';
import { importCustomers } from '../import/import-customers.js';
import { readJsonLines } from '../import/read-rows.js';
import { decideReview, listReview, ReviewConflictError } from '../import/review.js';
import { adminOnly } from './admin-auth.js';

export interface CustomerImportRoutesDeps {
  database: Database;
  /** TALLY_ADMIN_KEY; without one these endpoints do not exist (404). */
  adminKey: string | undefined;
  settings: ImportSettings;
  now?: () => Date;
}

/** The largest import body taken in one request; a bigger file goes through the command line or several requests. */
export const MAX_IMPORT_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Customer imports over HTTP, as a sub-app to mount under `/v1/admin`, each with
 * `Authorization: Bearer <admin key>`:
 * - `POST /import`: the body is JSON lines (one customer record per line, fields named as CSV
 *   columns are); answers the import's report (200). Query: `dryRun=true`, `threshold=0.8`,
 *   `country=GB`, `source=crm`.
 * - `GET /import/review?limit=100&after=<id>`: records waiting for review, with their candidate, rule, confidence and evidence.
 * - `POST /import/review/:id/accept` or `/reject`: merges the record into its candidate, or
 *   makes it a customer of its own (200); 404 when no such record waits; 409 when its userId
 *   now belongs to another customer.
 *
 * @example
 * // curl -H "Authorization: Bearer $TALLY_ADMIN_KEY" --data-binary @customers.ndjson 'https://collector/v1/admin/import?country=GB'
 */
export function customerImportRoutes(deps: CustomerImportRoutesDeps): Hono {
  const app = new Hono();
  app.onError(onError);
  app.use('/import', adminOnly(deps.adminKey));
  app.use('/import/*', adminOnly(deps.adminKey));
  const db = deps.database.db;

  app.post('/import', async (c) => {
    const declared = Number(c.req.header('Content-Length') ?? 0);
    if (declared > MAX_IMPORT_BODY_BYTES) throw tooLarge();
    const body = await c.req.text();
    if (Buffer.byteLength(body) > MAX_IMPORT_BODY_BYTES) throw tooLarge();
    const threshold = numberParam(c, 'threshold');
    try {
      const report = await importCustomers(db, readJsonLines(body), {
        threshold: threshold ?? deps.settings.threshold,
        defaultCountry: c.req.query('country') ?? deps.settings.defaultCountry,
        sourceId: c.req.query('source') ?? deps.settings.sourceId,
        dryRun: c.req.query('dryRun') === 'true',
        now: deps.now,
      });
      return c.json(report);
    } catch (error) {
      if (error instanceof RangeError) throw new ApiError(400, 'invalid_import_option', error.message);
      throw error;
    }
  });

  app.get('/import/review', async (c) => {
    const limit = numberParam(c, 'limit') ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ApiError(400, 'invalid_limit', 'limit: expected a whole number from 1 to 10000');
    const after = c.req.query('after');
    if (after !== undefined && !/^\d{1,18}$/.test(after)) throw new ApiError(400, 'invalid_after', 'after: expected the id of a listed record');
    return c.json(await listReview(db, { limit, afterId: after }));
  });

  app.post('/import/review/:id/:decision{accept|reject}', async (c) => {
    const id = c.req.param('id');
    const decision = c.req.param('decision') as 'accept' | 'reject';
    try {
      const decided = await decideReview(db, id, decision, { actor: 'admin_api', sourceId: deps.settings.sourceId, now: deps.now?.() });
      if (decided === null) throw new ApiError(404, 'not_queued', `no record ${id} waits for review (never queued, or decided already); nothing was done`);
      return c.json(decided);
    } catch (error) {
      if (error instanceof ReviewConflictError) throw new ApiError(409, 'review_conflict', error.message);
      throw error;
    }
  });
  return app;
}

function numberParam(c: Context, name: string): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new ApiError(400, `invalid_${name}`, `${name}: expected a number, got "${raw}"`);
  return value;
}

function tooLarge(): ApiError {
  return new ApiError(413, 'too_large', `an import body may hold at most ${MAX_IMPORT_BODY_BYTES / 1024 / 1024} MB of JSON lines; split the file or use the command line`);
}
