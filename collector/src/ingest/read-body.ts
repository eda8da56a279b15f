import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { ApiError } from '../errors.js';

const gunzipAsync = promisify(gunzip);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a request body as text, never holding more than `limit` bytes: the stream is read
 * with a running count and abandoned past the limit, and a gzip body is inflated with its
 * output capped at `limit` too. Throws `ApiError` 413 past the limit, 415 for an encoding
 * other than gzip or identity, 400 for a broken gzip stream or text that is not UTF-8.
 *
 * `incoming`, the Node request behind `request` when a Node server serves it, is read
 * directly: reading `request.body` would make the server adapter build a web `Request` and
 * a web stream over it, which cost more CPU than the rest of the read (collector/README.md,
 * "Throughput").
 *
 * @example
 * const text = await readBody(c.req.raw, MAX_BATCH_BYTES, c.env?.incoming);
 */
export async function readBody(request: Request, limit: number, incoming?: IncomingMessage): Promise<string> {
  const encoding = (request.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new ApiError(415, 'unsupported_encoding', `Content-Encoding "${encoding}" is not supported; send gzip or no encoding`);
  }
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);

  let bytes = incoming && !incoming.readableDidRead ? await readIncomingCapped(incoming, limit) : await readCapped(request.body, limit);
  if (encoding !== 'identity') bytes = await inflate(bytes, limit);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ApiError(400, 'invalid_body', 'the body is not valid UTF-8 text');
  }
}

async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

function readIncomingCapped(incoming: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (outcome: () => void) => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total <= limit) return void chunks.push(chunk);
      // The rest is not read: the answer closes the connection (see `tooLarge`).
      incoming.pause();
      settle(() => reject(tooLarge(limit)));
    };
    const onEnd = () => settle(() => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)));
    const onError = (error: Error) => settle(() => reject(error));
    const onClose = () => settle(() => reject(new Error('the request closed before its body ended')));
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

async function inflate(compressed: Uint8Array, limit: number): Promise<Uint8Array> {
  try {
    return await gunzipAsync(compressed, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw new ApiError(400, 'invalid_body', `the gzip body could not be inflated: ${(error as Error).message}`);
  }
}

function tooLarge(limit: number): ApiError {
  // The connection closes after the answer, so that the rest of the body is never read.
  return new ApiError(413, 'body_too_large', `the body is larger than ${limit.toLocaleString('en-US')} bytes (after decompression)`, { Connection: 'close' });
}
