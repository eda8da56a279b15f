import { connect } from 'node:net';

/**
 * Writes `request` (head and body, as bytes) to a fresh connection and returns the status
 * code of the first answer, or `closed` if the server hung up without answering. Used for
 * what `fetch` refuses to send: lying or missing lengths, endless chunked bodies, broken HTTP.
 */
export function rawRequest(
  port: number,
  parts: readonly (string | Uint8Array)[],
  options: { timeoutMs?: number; delayBetweenPartsMs?: number; hangUp?: boolean } = {},
): Promise<{ status: number | 'closed' | 'timeout'; head: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let settled = false;
    const finish = (status: number | 'closed' | 'timeout') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, head: received.slice(0, 2_000) });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs ?? 15_000);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      if (match && received.includes('\r\n\r\n')) finish(Number(match[1]));
    });
    socket.on('error', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('connect', async () => {
      for (const part of parts) {
        if (settled || socket.destroyed) return;
        socket.write(part);
        if (options.delayBetweenPartsMs) await new Promise((r) => setTimeout(r, options.delayBetweenPartsMs));
      }
      // Half-close: the server sees the end of the request stream, as when a client dies.
      if (options.hangUp && !socket.destroyed) socket.end();
    });
  });
}
