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
