import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ApiError } from '../errors.js';
import { readBody } from './read-body.js';

function streamed(chunks: Uint8Array[], headers: Record<string, string> = {}) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[pulled++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
  const request = new Request('http://x/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
  return { request, pulled: () => pulled };
}

describe('readBody', () => {
  test('reads plain and gzip bodies as text', async () => {
    const text = '{"batch":[{"name":"é"}]}';
    expect(await readBody(new Request('http://x/', { method: 'POST', body: text }), 1000)).toBe(text);
    const zipped = new Request('http://x/', { method: 'POST', body: gzipSync(text), headers: { 'content-encoding': 'gzip' } });
    expect(await readBody(zipped, 1000)).toBe(text);
  });

  test('stops reading a stream as soon as it passes the limit', async () => {
    const chunk = new Uint8Array(1000).fill(0x61);
    const { request, pulled } = streamed(Array.from({ length: 100 }, () => chunk));
    await expect(readBody(request, 2500)).rejects.toMatchObject({ status: 413 });
    expect(pulled()).toBeLessThan(10);
  });

  test('refuses a gzip body whose inflated size passes the limit', async () => {
    const bomb = gzipSync(Buffer.alloc(5_000_000, 0x20));
    expect(bomb.length).toBeLessThan(10_000);
    const request = new Request('http://x/', { method: 'POST', body: bomb, headers: { 'content-encoding': 'gzip' } });
    await expect(readBody(request, 500 * 1024)).rejects.toMatchObject({ status: 413 });
  });

  test('a declared Content-Length over the limit is refused before reading', async () => {
    const { request } = streamed([new Uint8Array(10)], { 'content-length': '999999' });
    await expect(readBody(request, 1000)).rejects.toBeInstanceOf(ApiError);
    expect(request.bodyUsed).toBe(false);
  });

  test('broken gzip and invalid UTF-8 → 400', async () => {
    const broken = new Request('http://x/', { method: 'POST', body: 'not gzip', headers: { 'content-encoding': 'gzip' } });
    await expect(readBody(broken, 1000)).rejects.toMatchObject({ status: 400 });
    const latin1 = new Request('http://x/', { method: 'POST', body: new Uint8Array([0x7b, 0xe9, 0x7d]) });
    await expect(readBody(latin1, 1000)).rejects.toMatchObject({ status: 400 });
  });
});

/** Serves one request: `readBody` over the Node request itself, as the collector's server does. */
async function readOverHttp(send: (port: number) => void | Promise<void>, limit: number): Promise<{ text?: string; error?: unknown }> {
  const outcome = new Promise<{ text?: string; error?: unknown }>((resolve) => {
    const server = createServer((incoming: IncomingMessage, response) => {
      // A stand-in Request whose body must not be read: the Node request is.
      const stand = new Request('http://x/', { method: 'POST', headers: incoming.headers as Record<string, string> });
      readBody(stand, limit, incoming).then(
        (text) => resolve({ text }),
        (error: unknown) => resolve({ error }),
      ).finally(() => {
        response.end();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => void send((server.address() as AddressInfo).port));
  });
  return outcome;
}

function post(port: number, body: Buffer | string, headers: Record<string, string> = {}, end = true) {
  const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/', headers });
  req.on('error', () => {});
  req.write(body);
  if (end) req.end();
  return req;
}

describe('readBody from the Node request of a server', () => {
  test('reads plain and gzip bodies as text', async () => {
    const text = '{"batch":[{"name":"é"}]}';
    expect((await readOverHttp((port) => void post(port, text), 1000)).text).toBe(text);
    const zipped = await readOverHttp((port) => void post(port, gzipSync(text), { 'content-encoding': 'gzip' }), 1000);
    expect(zipped.text).toBe(text);
  });

  test('stops reading past the limit, and the answer closes the connection', async () => {
    const outcome = await readOverHttp((port) => {
      const req = post(port, Buffer.alloc(4000, 0x61), {}, false);
      // Keeps sending; the reader must stop long before the end.
      let sent = 0;
      const more = setInterval(() => {
        if (sent++ > 50 || req.destroyed) return clearInterval(more);
        req.write(Buffer.alloc(4000, 0x61));
      }, 2);
    }, 2500);
    expect(outcome.error).toMatchObject({ status: 413, code: 'body_too_large', headers: { Connection: 'close' } });
  });

  test('a body cut off by its sender is an error, not a short text', async () => {
    const outcome = await readOverHttp((port) => {
      const req = post(port, '{"batch":[', { 'content-length': '100' }, false);
      setTimeout(() => req.destroy(), 20);
    }, 1000);
    expect(outcome.text).toBeUndefined();
    expect(outcome.error).toBeInstanceOf(Error);
  });
});
