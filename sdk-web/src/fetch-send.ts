/** Delivery over `fetch` where no page is involved (apps, servers): what the collector answered, as the core reads it. */
import type { SendResult } from './env.js';

/**
 * POSTs a JSON body and answers the status, `Retry-After` and the response's text; a network
 * error (or `signal` aborting) rejects, as `fetch` does.
 * @example await fetchSend('https://t.example.com/v1/batch', body, { authorization: 'Basic …' })
 */
export async function fetchSend(url: string, body: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<SendResult & { text: string }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal });
  return { status: r.status, retryAfter: Number(r.headers.get('retry-after')) || null, text: await r.text().catch(() => '') };
}
