import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface StaticSite {
  /** The folder served at `/`. */
  root: string;
  /** Single files served at fixed paths, e.g. `{ '/sdk/index.js': '/abs/sdk-web/dist/index.js' }`. */
  files?: Record<string, string>;
  /** Paths under these prefixes that match no file answer with the prefix's `index.html` (client-side routing). */
  spaPrefixes?: string[];
  /** Text replaced in HTML and JavaScript files, e.g. `{ __COLLECTOR_URL__: 'http://localhost:8080' }`. */
  replacements?: Record<string, string>;
  port: number;
  host?: string;
}

/**
 * A small static file server for the example sites: no directory listings, nothing outside
 * `root`, `index.html` for folders.
 *
 * @example
 * const server = await serveStatic({ root: './examples', port: 8081 });
 */
export async function serveStatic(site: StaticSite): Promise<{ server: Server; url: string }> {
  const root = resolve(site.root);
  const server = createServer(async (request, response) => {
    try {
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
      const file = await locate(site, root, path);
      if (!file || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(file ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(file ? 'method not allowed\n' : 'not found\n');
        return;
      }
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      const headers = { 'content-type': type, 'cache-control': 'no-cache' };
      if (site.replacements && (type.startsWith('text/html') || type.startsWith('text/javascript'))) {
        let text = await readFile(file, 'utf8');
        for (const [from, to] of Object.entries(site.replacements)) text = text.split(from).join(to);
        response.writeHead(200, headers);
        response.end(request.method === 'HEAD' ? undefined : text);
        return;
      }
      response.writeHead(200, headers);
      if (request.method === 'HEAD') response.end();
      else createReadStream(file).pipe(response);
    } catch {
      response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('bad request\n');
    }
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(site.port, site.host ?? '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://localhost:${port}` };
}

async function locate(site: StaticSite, root: string, path: string): Promise<string | undefined> {
  const fixed = site.files?.[path];
  if (fixed) return fixed;
  const candidate = normalize(join(root, path));
  if (candidate !== root && !candidate.startsWith(root + sep)) return undefined;
  const found = await fileAt(candidate);
  if (found) return found;
  const prefix = site.spaPrefixes?.find((p) => path.startsWith(p) && !extname(path));
  return prefix ? fileAt(join(root, prefix, 'index.html')) : undefined;
}

async function fileAt(path: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) return path;
  if (info?.isDirectory()) {
    const index = join(path, 'index.html');
    if ((await stat(index).catch(() => undefined))?.isFile()) return index;
  }
  return undefined;
}
