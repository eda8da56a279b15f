import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Database } from '../db/database.js';
import { ApiError, onError } from '../errors.js';
import { badRequest, customer360, experimentResults, funnel, overview, parseRange, runPanel, segmentMembers, segments, trends } from './panels.js';
import * as queries from './queries.js';
import { createLoginThrottle, type LoginThrottle } from './login-throttle.js';
import type { DashboardReader } from './reader.js';
import { editorStatement, listQueries, savedQuery, saveQuery } from './saved-queries.js';
import type { DashboardSession, DashboardSessions } from './sessions.js';

export interface DashboardDeps {
  /** The owner's connection: only for the saved queries the dashboard keeps. */
  database: Database;
  /** Every read of the panels and the SQL editor (the read-only role). */
  reader: DashboardReader;
  sessions: DashboardSessions;
  /** Mark the session cookie `Secure` even when the request arrived over plain HTTP (TLS ends at a proxy in front). */
  secureCookie?: boolean | undefined;
  /** The client's address (by the collector's one `X-Forwarded-For` rule): failed logins are counted per address. */
  clientAddress?: ((c: Context) => string | undefined) | undefined;
  /** Failed logins per address (default: `createLoginThrottle()`, 5 a minute). */
  loginThrottle?: LoginThrottle | undefined;
}

export const SESSION_COOKIE = 'tally_dashboard';
/** The header each write must carry: the session's CSRF token. */
export const CSRF_HEADER = 'x-tally-csrf';
/** Rows the SQL editor returns at most. */
export const MAX_EDITOR_ROWS = 1_000;

/** Hono's typing of a dashboard request: its session, once checked. */
export type DashboardEnv = { Variables: { session: DashboardSession } };

const ASSETS = fileURLToPath(new URL('../../src/dashboard/assets/', import.meta.url));
const UPLOT = dirname(createRequire(import.meta.url).resolve('uplot'));
const JS = 'text/javascript; charset=utf-8';
const MODULES = ['app.js', 'page.js', 'charts.js', 'overview.js', 'funnel.js', 'trends.js', 'customers.js', 'segments.js', 'experiments.js', 'queries.js'];
const FILES: Record<string, { path: string; type: string }> = {
  ...Object.fromEntries(MODULES.map((name) => [name, { path: join(ASSETS, name), type: JS }])),
  'style.css': { path: join(ASSETS, 'style.css'), type: 'text/css; charset=utf-8' },
  'uplot.js': { path: join(UPLOT, 'uPlot.esm.js'), type: JS },
  'uplot.css': { path: join(UPLOT, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The dashboard, as a sub-app to mount under `/dashboard` (only when `TALLY_DASHBOARD=on`):
 * the page and its assets (uPlot served from this package, no CDN), the login, and the JSON
 * API behind each panel under `/api/`.
 *
 * Security: every `/api/` request needs the session cookie (HttpOnly, SameSite=Strict, Path
 * `/dashboard`), else 401; a POST also needs the session's CSRF token in `x-tally-csrf`, and
 * is refused (403) when the browser says it comes from another site. The login accepts the
 * dashboard password or the admin key, or a one-time link `/dashboard/login/<token>`; after 5
 * failed logins from one address within a minute, its logins are answered 429 with
 * Retry-After before the password is even compared (`login-throttle.ts`).
 *
 * @example
 * app.route('/dashboard', dashboardRoutes({ database, reader, sessions }));
 */
export function dashboardRoutes(deps: DashboardDeps): Hono<DashboardEnv> {
  const { reader, sessions, database } = deps;
  const throttle = deps.loginThrottle ?? createLoginThrottle();
  /** The address a login comes from, once it may be checked at all. */
  const loginAddress = (c: Context): string | undefined => {
    const address = deps.clientAddress?.(c);
    const wait = throttle.wait(address);
    if (wait > 0) throw new ApiError(429, 'rate_limited', `too many failed logins from this address; try again in ${wait} s`, { 'Retry-After': String(wait) });
    return address;
  };
  const files = Object.fromEntries(Object.entries(FILES).map(([name, file]) => [name, { body: readFileSync(file.path, 'utf8'), type: file.type }]));
  const page = readFileSync(join(ASSETS, 'index.html'), 'utf8');
  const app = new Hono<DashboardEnv>();
  app.onError(onError);
  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    c.header('Cache-Control', 'no-store');
  });

  app.get('/', (c) => c.html(page));
  app.get('/assets/:file', (c) => {
    const file = files[c.req.param('file')];
    if (file === undefined) throw new ApiError(404, 'not_found', `no asset ${c.req.param('file')}`);
    return c.body(file.body, 200, { 'Content-Type': file.type });
  });

  app.post('/login', async (c) => {
    sameSite(c);
    const body = (await c.req.json().catch(() => ({}))) as { password?: unknown };
    if (typeof body.password !== 'string') throw badRequest('password: expected the dashboard password or the admin key');
    const address = loginAddress(c);
    const session = sessions.logIn(body.password);
    if (session === undefined) {
      throttle.failed(address);
      throw new ApiError(401, 'unauthorized', 'wrong password');
    }
    startSession(c, session, deps.secureCookie);
    return c.json({ csrfToken: session.csrfToken });
  });
  app.get('/login/:token', (c) => {
    const address = loginAddress(c);
    const session = sessions.redeemLoginToken(c.req.param('token'));
    if (session === undefined) throttle.failed(address);
    if (session === undefined) throw new ApiError(401, 'unauthorized', 'this login link was used already or has expired; log in with the password');
    startSession(c, session, deps.secureCookie);
    return c.redirect('/dashboard#funnel', 303);
  });

  app.use('/api/*', async (c, next) => {
    const session = sessions.find(getCookie(c, SESSION_COOKIE));
    if (session === undefined) throw new ApiError(401, 'unauthorized', 'log in first: no dashboard session');
    if (c.req.method !== 'GET') {
      sameSite(c);
      if (c.req.header(CSRF_HEADER) !== session.csrfToken) throw new ApiError(403, 'csrf', `a write needs the session's token in ${CSRF_HEADER}`);
    }
    c.set('session', session);
    await next();
  });
  app.get('/api/session', (c) => c.json({ csrfToken: c.get('session').csrfToken }));
  app.post('/api/logout', (c) => {
    sessions.logOut(c.get('session').id);
    deleteCookie(c, SESSION_COOKIE, { path: '/dashboard' });
    return c.json({ loggedOut: true });
  });

  app.get('/api/overview', async (c) => c.json(await overview(reader, parseRange(c.req.query('since'), c.req.query('until')))));
  app.get('/api/live', async (c) => c.json(await runPanel(reader, queries.LIVE_EVENTS, {})));
  app.get('/api/event-names', async (c) => c.json(await runPanel(reader, queries.EVENT_NAMES, {})));
  app.get('/api/funnel', async (c) =>
    c.json(
      await funnel(reader, {
        steps: c.req.queries('step') ?? [],
        since: c.req.query('since'),
        until: c.req.query('until'),
        within: c.req.query('within'),
        breakdown: c.req.query('breakdown'),
      }),
    ),
  );
  app.get('/api/trends', async (c) => c.json(await trends(reader, parseRange(c.req.query('since'), c.req.query('until')))));
  app.get('/api/customer', async (c) =>
    c.json(await customer360(reader, { userId: c.req.query('userId'), anonymousId: c.req.query('anonymousId'), email: c.req.query('email') })),
  );
  app.get('/api/segments', async (c) => c.json(await segments(reader)));
  app.get('/api/segments/:name', async (c) => c.json(await segmentMembers(reader, c.req.param('name'))));
  app.get('/api/experiments', async (c) => c.json(await runPanel(reader, queries.EXPERIMENT_IDS, {})));
  app.get('/api/experiment', async (c) =>
    c.json(await experimentResults(reader, { experiment: c.req.query('experiment'), goal: c.req.query('goal'), since: c.req.query('since'), until: c.req.query('until') })),
  );

  app.post('/api/sql', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { sql?: unknown };
    const text = editorStatement(body.sql);
    try {
      const result = await reader.query(text);
      return c.json({ sql: text, columns: result.columns, rows: result.rows.slice(0, MAX_EDITOR_ROWS), truncated: result.rows.length > MAX_EDITOR_ROWS });
    } catch (error) {
      // The database's own message (a syntax error, a permission refused) is what the author needs.
      const { message, code } = error as { message?: string; code?: string };
      throw new ApiError(400, code === '42501' ? 'permission_denied' : 'query_failed', message ?? 'the query failed');
    }
  });
  app.get('/api/queries', async (c) => c.json({ queries: await listQueries(database) }));
  app.get('/api/queries/:id', async (c) => c.json(await savedQuery(database, c.req.param('id'))));
  app.post('/api/queries', async (c) => c.json(await saveQuery(database, await c.req.json().catch(() => ({}))), 201));
  return app;
}

function startSession(c: Context, session: DashboardSession, secure = false): void {
  setCookie(c, SESSION_COOKIE, session.id, {
    path: '/dashboard',
    httpOnly: true,
    sameSite: 'Strict',
    secure: secure || new URL(c.req.url).protocol === 'https:',
    maxAge: Math.max(1, Math.floor((session.expiresAt - Date.now()) / 1000)),
  });
}

/** Refuses a state-changing request a browser says comes from another site or origin. */
function sameSite(c: Context): void {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ApiError(403, 'csrf', 'requests from other sites are refused');
  const origin = c.req.header('origin');
  if (origin !== undefined && hostOf(origin) !== new URL(c.req.url).host) throw new ApiError(403, 'csrf', 'requests from other origins are refused');
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
