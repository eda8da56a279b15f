import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';

/** Where a running start script says its SQL endpoint listens, inside the data folder. */
export const endpointFile = (dataDir: string) => join(dataDir, 'sql-endpoint.json');

/** The process id of a live start script serving `dataDir`, if there is one. */
export function runningStart(dataDir: string): { url: string; pid: number } | undefined {
  try {
    const found = JSON.parse(readFileSync(endpointFile(dataDir), 'utf8')) as { url: string; pid: number };
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
 * @example
 * const endpoint = await startSqlEndpoint(collector.database.db, '.tally-data');
 */
export async function startSqlEndpoint(db: Kysely<any>, dataDir: string, port = 0): Promise<{ server: Server; url: string; close(): void }> {
  const server = createServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/sql') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'POST the SQL text to /sql' }));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      try {
        const result = await sql.raw<Record<string, unknown>>(Buffer.concat(chunks).toString('utf8')).execute(db);
        const answer: SqlAnswer = { rows: result.rows };
        if (result.numAffectedRows !== undefined) answer.affected = Number(result.numAffectedRows);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer));
      } catch (error) {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
      }
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sql`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(endpointFile(dataDir), JSON.stringify({ url, pid: process.pid }));
  return {
    server,
    url,
    close() {
      rmSync(endpointFile(dataDir), { force: true });
      server.close();
    },
  };
}
