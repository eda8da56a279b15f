import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { checkStatement } from '@tally/collector';

/** Where a running start script says its SQL endpoint listens, and its token, inside the data folder (mode 0600). */
export const endpointFile = (dataDir: string) => join(dataDir, 'sql-endpoint.json');

/** The most SQL text one request may carry. */
export const MAX_SQL_BYTES = 1024 * 1024;

/** What `endpointFile` holds. */
export interface EndpointInfo {
  url: string;
  pid: number;
  /** Sent as `Authorization: Bearer <token>` with every request. */
  token: string;
}

/** The endpoint of a live start script serving `dataDir`, if there is one. */
export function runningStart(dataDir: string): EndpointInfo | undefined {
  try {
    const found = JSON.parse(readFileSync(endpointFile(dataDir), 'utf8')) as EndpointInfo;
    process.kill(found.pid, 0);
    return found;
  } catch {
    return undefined;
  }
}

export interface SqlAnswer {
  rows: Record<string, unknown>[];
  affected?: number;
}

/**
 * Runs SQL sent by `pnpm sql` while the collector holds the embedded database.
 *
 * The embedded engine has one session and lives in one process, so another process cannot
 * open its folder. Queries come here over loopback HTTP and run through the collector's own
 * Kysely instance, whose driver hands the single session to one caller at a time: a query
 * never lands inside one of the collector's open transactions.
 *
 * Only its owner may use it, and nothing a web page does reaches it:
 * - every request needs the random token written, with the URL, to `endpointFile` (mode 0600);
 * - a request with an `Origin` header (a browser sends one with every POST, `no-cors`
 *   fetches included) is refused, and so is a `Host` other than `127.0.0.1:<port>` (DNS rebinding);
 * - one statement per request, at most `MAX_SQL_BYTES`, read-only and checked by `checkStatement`
 *   (no `COPY`, no server files or programs), run inside `BEGIN READ ONLY … ROLLBACK`.
 *
 * @example
 * const endpoint = await startSqlEndpoint(collector.database.db, '.tally-data');
 */
export async function startSqlEndpoint(db: Kysely<any>, dataDir: string, port = 0): Promise<{ server: Server; url: string; close(): void }> {
  const token = randomBytes(32).toString('base64url');
  let host = '';
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => answer(response, 500, { error: error instanceof Error ? error.message : String(error) }));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function handle(request: IncomingMessage, response: ServerResponse) {
    // Browsers send Origin with every POST, no-cors ones included; `pnpm sql` never does.
    if (request.headers.origin !== undefined) {
      return refuse(request, response, 403, 'requests from web pages are refused');
    }
    if (request.headers.host !== host) return refuse(request, response, 403, `the Host must be ${host}`);
    if (request.method !== 'POST' || request.url !== '/sql') return refuse(request, response, 404, 'POST the SQL text to /sql');
    if (!tokenMatches(request.headers.authorization, token)) {
      return refuse(request, response, 401, `a token is required: Authorization: Bearer <token from ${endpointFile(dataDir)}>`);
    }
    const text = await readCapped(request);
    if (text === undefined) return refuse(request, response, 413, `the SQL text is larger than ${MAX_SQL_BYTES} bytes`);
    const check = checkStatement(text);
    if (!check.ok) return answer(response, 400, { error: check.reason });
    try {
      answer(response, 200, await runReadOnly(db, text));
    } catch (error) {
      answer(response, 400, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done());
  });
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `http://${host}/sql`;
  mkdirSync(dataDir, { recursive: true });
  const file = endpointFile(dataDir);
  // A fresh file, so that an older one's looser mode is not kept.
  rmSync(file, { force: true });
  writeFileSync(file, JSON.stringify({ url, pid: process.pid, token } satisfies EndpointInfo), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return {
    server,
    url,
    close() {
      rmSync(file, { force: true });
      server.close();
    },
  };
}

async function runReadOnly(db: Kysely<any>, text: string): Promise<SqlAnswer> {
  return db.connection().execute(async (connection) => {
    await sql`begin transaction read only`.execute(connection);
    try {
      const result = await sql.raw<Record<string, unknown>>(text).execute(connection);
      const answer: SqlAnswer = { rows: result.rows };
      if (result.numAffectedRows !== undefined) answer.affected = Number(result.numAffectedRows);
      return answer;
    } finally {
      await sql`rollback`.execute(connection);
    }
  });
}

function readCapped(request: IncomingMessage): Promise<string | undefined> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_SQL_BYTES) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    request.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_SQL_BYTES) {
        request.removeAllListeners('data');
        request.pause();
        resolve(undefined);
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

function refuse(request: IncomingMessage, response: ServerResponse, status: number, error: string) {
  // The body is not read: close the connection rather than wait for it.
  response.setHeader('connection', 'close');
  answer(response, status, { error });
  request.resume();
}

function answer(response: ServerResponse, status: number, body: unknown) {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
