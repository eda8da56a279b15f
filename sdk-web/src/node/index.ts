/**
 * The server entry (`@tally/sdk-web/node`) for Node servers and serverless functions: each
 * call names its own user (Segment's analytics-node shape), sends with a server source's
 * secret write key, batches, retries, and `await flush()` / `await close()` lets a function
 * return once its events are delivered.
 * @example
 * import { createServerTally } from '@tally/sdk-web/node';
 * const tally = createServerTally({ writeKey: process.env.TALLY_WRITE_KEY!, host: 'https://t.example.com' });
 * tally.track({ userId: 'user-42', event: 'Order Completed', properties: { order_id: 'o-1', revenue: 42 } });
 * await tally.flush();
 */
import { MAX_EVENT_BYTES, bytes } from '../queue.js';
import { VERSION } from '../version.js';
import { createServerDelivery, DeliveryError } from './delivery.js';

export { DeliveryError } from './delivery.js';

export type Properties = Record<string, unknown>;

export interface ServerOptions {
  /** The write key of a `server` source (kept secret: it may send `alias` and set traits clients cannot overwrite). */
  writeKey: string;
  /** The collector's origin, e.g. `https://t.example.com`. */
  host: string;
  /** Send when this many events wait (default 20)… */
  flushAt?: number;
  /** …or this many milliseconds after the first one (default 10,000). */
  flushInterval?: number;
  /** Retries of a batch that met a network error, a 429 or a 5xx, with backoff (default 5). */
  maxRetries?: number;
  /** Milliseconds a request may take before it counts as failed and is retried (default 10,000). */
  timeout?: number;
  /** What was not delivered, or refused by the collector (default: `console.error`). */
  onError?(error: DeliveryError): void;
}

/** Who a call is about: a userId, an anonymousId, or both (both link them). */
export interface Identified {
  userId?: string;
  anonymousId?: string;
  /** Default: a random UUID. Give one to make a retried call idempotent (the collector keeps a messageId once). */
  messageId?: string;
  /** When it happened (default: now). */
  timestamp?: Date | string;
  context?: Properties;
  integrations?: Properties;
}

export interface ServerTally {
  track(call: Identified & { event: string; properties?: Properties }): void;
  identify(call: Identified & { traits?: Properties }): void;
  page(call: Identified & { name?: string; category?: string; properties?: Properties }): void;
  screen(call: Identified & { name: string; category?: string; properties?: Properties }): void;
  group(call: Identified & { groupId: string; traits?: Properties }): void;
  alias(call: Identified & { userId: string; previousId: string }): void;
  /** Sends what waits; resolves when everything handed over so far is delivered or given up (see `onError`). */
  flush(): Promise<void>;
  /** `flush()`, after which calls are refused. */
  close(): Promise<void>;
}

const text = (v: unknown) => typeof v == 'string' && v.trim() != '';

/**
 * A server-side tracker. A call with bad input (no userId or anonymousId, no event name, over
 * 32 KB) throws a `TypeError` naming what is wrong, and nothing else is lost.
 * @example
 * export async function handler(req) {
 *   tally.identify({ userId: req.user.id, traits: { plan: 'pro' } });
 *   await tally.flush();
 * }
 */
export function createServerTally(options: ServerOptions): ServerTally {
  if (!text(options?.writeKey)) throw new TypeError('createServerTally: writeKey is required (a server source’s key)');
  if (!text(options.host)) throw new TypeError('createServerTally: host is required, e.g. https://t.example.com');
  const delivery = createServerDelivery({
    url: `${options.host.replace(/\/+$/, '')}/v1/batch`,
    writeKey: options.writeKey,
    flushAt: options.flushAt ?? 20,
    flushInterval: options.flushInterval ?? 10_000,
    maxRetries: options.maxRetries ?? 5,
    timeout: options.timeout ?? 10_000,
    onError: options.onError ?? ((e) => console.error(`[tally] ${e.message}`)),
  });
  let closed = false;

  const call = <C extends Identified>(type: string, required: string[]) => (c: C) => {
    if (closed) throw new TypeError(`tally.${type}: called after close()`);
    if (!text(c?.userId) && !text(c?.anonymousId)) throw new TypeError(`tally.${type}: a userId or an anonymousId is required`);
    for (const k of required) if (!text((c as Properties)[k])) throw new TypeError(`tally.${type}: ${k} is required`);
    const { messageId, timestamp, context, ...fields } = c;
    const m = JSON.stringify({
      ...fields,
      type,
      messageId: messageId ?? crypto.randomUUID(),
      timestamp: new Date(timestamp ?? Date.now()).toISOString(),
      context: { ...context, library: { name: '@tally/sdk-web/node', version: VERSION } },
    });
    if (bytes(m) > MAX_EVENT_BYTES) throw new TypeError(`tally.${type}: the event is over 32 KB`);
    delivery.add(m);
  };

  return {
    track: call('track', ['event']),
    identify: call('identify', []),
    page: call('page', []),
    screen: call('screen', ['name']),
    group: call('group', ['groupId']),
    alias: call('alias', ['userId', 'previousId']),
    flush: () => delivery.flush(),
    close() {
      closed = true;
      return delivery.flush();
    },
  };
}
