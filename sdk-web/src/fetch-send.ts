/** Delivery over `fetch` where no page is involved (apps, servers): what the collector answered, as the core reads it. */
import type { SendResult } from './env.js';

/**
 * POSTs a JSON body; a network error rejects, as `fetch` does.
 * @example await fetchSend('https://t.example.com/v1/batch', body, { authorization: 'Basic …' })
 */
export async function fetchSend(url: string, body: string, headers: Record<string, string> = {}): Promise<SendResult> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  // The body is not needed; reading it lets the connection be reused.
  await r.arrayBuffer().catch(() => undefined);
  return { status: r.status, retryAfter: Number(r.headers.get('retry-after')) || null };
}
